//! Typed parameters: every cmdline dialect netinit accepts, parsed in one
//! place from a tokenized [`crate::cmdline::Cmdline`] (to be written).

/// The typed cmdline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {}
