//! Front end: plan text to syntax tree. `load` follows includes; `parser` never fails.

pub mod ast;
pub mod lexer;
pub mod load;
pub mod parser;

pub use load::{load, Loaded};
