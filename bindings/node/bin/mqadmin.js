#!/usr/bin/env node
'use strict'
// `npx mqadmin`: runs the mqadmin bundled for this platform (see ../platform.js).
require('../platform.js').run('mqadmin')
