//! Typed custom headers (protocol.md section 4).
