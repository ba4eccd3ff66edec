//! `config/*.json` in Apache's shapes.
