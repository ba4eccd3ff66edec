//! Message encodings (protocol.md section 6).
