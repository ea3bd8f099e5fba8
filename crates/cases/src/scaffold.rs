//! Writing test-case files: skeletons for new rules and appended cases.
