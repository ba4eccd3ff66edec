#!/usr/bin/env node
'use strict'
// `npx mqbench`: runs the mqbench bundled for this platform (see ../platform.js).
require('../platform.js').run('mqbench')
