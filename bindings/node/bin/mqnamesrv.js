#!/usr/bin/env node
'use strict'
// `npx mqnamesrv`: runs the mqnamesrv bundled for this platform (see ../platform.js).
require('../platform.js').run('mqnamesrv')
