//! Lenient fastjson-compatible JSON reader and writer.
