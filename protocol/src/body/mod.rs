//! JSON bodies (protocol.md section 5).
