//! The Sigma language.
