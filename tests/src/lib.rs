//! Cross-crate integration and end-to-end tests of lockwarden live in `tests/tests/`.
