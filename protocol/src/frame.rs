//! Frames and header serializations (protocol.md 1.2-1.5).
