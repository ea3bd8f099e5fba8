//! The files ruleproof reads and writes: one directory walker that reports symbolic-link loops
//! instead of following them forever, and one atomic write that keeps permissions and never
//! overwrites a file unless asked.
//!
//! Every command walks directories through [`walk`] and writes files through
//! [`write_atomically`], so each of these behaviours is decided in one place.

#![deny(missing_docs)]

mod canonical;
mod walk;
mod write;

pub use canonical::CanonicalPaths;
pub use walk::{Walk, WalkError, finds_anything, walk, walk_all};
pub use write::{WriteError, write_atomically};
