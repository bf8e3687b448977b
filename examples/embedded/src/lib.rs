//! Runs the code blocks of the workspace README as doctests
//! (`cargo test --doc -p example-embedded`), so the README cannot rot.
#![doc = include_str!("../../../README.md")]
