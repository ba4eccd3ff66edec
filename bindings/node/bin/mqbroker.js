#!/usr/bin/env node
'use strict'
// `npx mqbroker`: runs the mqbroker bundled for this platform (see ../platform.js).
require('../platform.js').run('mqbroker')
