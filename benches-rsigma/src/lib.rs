//! Nothing to build: the comparison lives in `benches/compare.rs`.
