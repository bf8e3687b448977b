//! Criterion benchmarks of the chat library's hot paths live in `benches/`:
//! `fanout`, `protocol`, `write_path`, `history`. Run them with
//! `cargo bench -p chat-benches`; BENCHMARKS.md holds the numbers.
