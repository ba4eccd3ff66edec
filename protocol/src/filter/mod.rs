//! SQL92 message selectors (`expressionType = "SQL92"`), parsed and evaluated exactly as Apache
//! RocketMQ's `filter` module does (docs/protocol.md, "SQL92 filters").
//!
//! ```
//! use std::collections::HashMap;
//! use ferromq_protocol::filter::Selector;
//!
//! let selector = Selector::parse("a > 5 AND b = 'x'")?;
//! let mut props = HashMap::new();
//! props.insert("a".to_owned(), "7".to_owned());
//! props.insert("b".to_owned(), "x".to_owned());
//! assert!(selector.evaluate(&props));
//! props.insert("a".to_owned(), "5.5".to_owned()); // "5.5" is not an int: an error, no match
//! assert!(!selector.evaluate(&props));
//! # Ok::<(), ferromq_protocol::ProtocolError>(())
//! ```
//!
//! # Grammar (`SelectorParser.jj`, 5.x)
//!
//! `OR`, `AND`, `NOT`, parentheses; `=`, `<>`, `>`, `>=`, `<`, `<=`; `IS [NOT] NULL`;
//! `[NOT] BETWEEN a AND b`; `prop [NOT] IN ('s', ...)`; `[NOT] CONTAINS | STARTSWITH | ENDSWITH
//! 's'`; unary `+`, `-`; literals `'str'` (`''` is a quote), integers (`int` when they fit,
//! else `long`, optional `L`), floats (`1.5`, `5.`, `.5`, `5E10`), `TRUE`, `FALSE`, `NULL`;
//! identifiers `[a-zA-Z_$][a-zA-Z0-9_$]*` name message properties (`TAGS`, `KEYS` and every
//! user property); keywords are case-insensitive; `--` comments (only when a line break
//! follows) and `/* */` comments.
//!
//! Precedence, loosest first: `OR`; `AND`; `=`, `<>`, `IS [NOT] NULL`; `>`, `>=`, `<`, `<=`,
//! `BETWEEN`, `IN`, `CONTAINS`, ... ; unary `+`, `-`, `NOT`. Binary levels associate to the
//! left, and `NOT` binds tightest: `NOT a = 1` is `(NOT a) = 1`. Parse-time checks follow
//! Apache's factories: no `NULL` operand of `=`/`<>`, only numbers (or non-boolean
//! expressions) under `>`..`<=` and `BETWEEN`, literal `BETWEEN` bounds in order, a property on
//! the left of `IN`, a boolean result wherever `AND`/`OR`/`NOT` or the whole selector needs one.
//! Parsing stops after the longest expression, so trailing text that cannot continue it is
//! ignored (`a = 1 b` selects `a = 1`), as with Apache's grammar, which has no `<EOF>`.
//!
//! # Evaluation
//!
//! Values are Java's: null, booleans, `int`, `long`, `double` and strings; every property is a
//! string, a missing one is null. Only a TRUE result delivers the message; null (unknown) and
//! errors (exceptions in Apache, such as a failed number conversion) do not ([`Outcome`]).
//!
//! - Mixed comparisons convert toward the literal (`ComparisonExpression.__compare`): with
//!   `a = "10"`, `a > 5` reads `a` with `Integer.valueOf` (TRUE); `a = "5.5"` or `"10000000000"` makes
//!   that an error, `a > 5.0` uses `Double.valueOf` (which trims and takes `NaN`, `Infinity`).
//!   Integer literals are `int` when they fit, so only a literal beyond the `int` range reads the
//!   property as a `long`. `a = TRUE` uses `Boolean.valueOf`.
//! - Two strings under `>`..`<=` are both read with `Double.valueOf`; under `=`/`<>` they are
//!   compared as text.
//! - Null: `x = y` is null when `x` is null, FALSE when only `y` is, TRUE when both are;
//!   `>`..`<=` with a null side are null; `IS [NOT] NULL` is never null; `IN` on a missing
//!   property is null; `CONTAINS`/`STARTSWITH`/`ENDSWITH` (and their `NOT` forms) are FALSE on
//!   null and for an empty pattern.
//! - `AND`/`OR`/`NOT` are three-valued (`LogicExpression`); they evaluate left to right, the
//!   first FALSE (AND) or TRUE (OR) decides, and an error on the way aborts the selector.
//! - A bare property in a boolean position is FALSE (null when missing): it is a string.
//!
//! # Known differences from Apache
//!
//! - Java accepts non-ASCII decimal digits (e.g. Arabic-Indic) in `Integer.valueOf` and hex
//!   floats (`0x1p3`) in `Double.valueOf`; these conversions fail here (no match).
//! - The tree height is limited to [`MAX_DEPTH`] and the nesting of parentheses and unary
//!   operators to twice that; Apache's limit is the JVM stack.
//! - Apache caches parse results; callers that want that keep the compiled [`Selector`].

mod ast;
mod checks;
mod eval;
mod java;
mod lexer;
mod parser;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;

use crate::error::{ProtocolError, Result};
use crate::message::Properties;

/// Tallest expression tree accepted (each operator is one level; `AND`/`OR` chains are flat).
///
/// Parentheses and unary operators may nest up to twice this deep, so that the canonical
/// [`Display`](fmt::Display) form of every accepted selector, which parenthesises each
/// operator, is accepted too.
pub const MAX_DEPTH: usize = 100;

/// Deepest nesting of parentheses and unary operators accepted.
const MAX_NESTING: usize = 2 * MAX_DEPTH;

/// What the parser reports in [`ProtocolError::Malformed::what`].
const WHAT: &str = "SQL92 selector";

/// A parse error at byte offset `at` of the selector text.
fn syntax_error(at: usize, reason: impl fmt::Display) -> ProtocolError {
    ProtocolError::malformed(WHAT, Cow::Owned(format!("at byte {at}: {reason}")))
}

/// Where a selector reads message properties from: the value of a property by name.
pub trait PropertySource {
    /// The value of property `name`, or `None` when the message does not have it.
    fn property(&self, name: &str) -> Option<&str>;
}

impl PropertySource for Properties {
    fn property(&self, name: &str) -> Option<&str> {
        self.value(name)
    }
}

impl<S: BuildHasher> PropertySource for HashMap<String, String, S> {
    fn property(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl PropertySource for BTreeMap<String, String> {
    fn property(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl<T: PropertySource + ?Sized> PropertySource for &T {
    fn property(&self, name: &str) -> Option<&str> {
        (**self).property(name)
    }
}

/// The exception that stopped an evaluation in Apache (for example a `NumberFormatException`
/// when `a > 5` meets `a = "abc"`). The broker logs it and does not deliver the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    reason: Cow<'static, str>,
}

impl EvalError {
    fn new(reason: impl Into<Cow<'static, str>>) -> Self {
        EvalError {
            reason: reason.into(),
        }
    }

    /// What went wrong, for logs.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SQL92 evaluation failed: {}", self.reason)
    }
}

impl std::error::Error for EvalError {}

/// The full result of evaluating a selector; only [`Outcome::True`] delivers the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The expression is TRUE: the message matches.
    True,
    /// The expression is FALSE.
    False,
    /// The expression is null (SQL unknown), e.g. `a > 5` with no property `a`.
    Unknown,
    /// Evaluation raised an exception in Apache (see [`EvalError`]).
    Error(EvalError),
}

impl Outcome {
    /// Whether the message is delivered (the outcome is [`Outcome::True`]).
    pub fn is_match(&self) -> bool {
        matches!(self, Outcome::True)
    }
}

/// A compiled SQL92 selector.
///
/// Parse once with [`Selector::parse`], then [`evaluate`](Selector::evaluate) per message.
/// [`Display`](fmt::Display) prints a canonical, fully parenthesised form that parses back to an
/// equal selector.
#[derive(Debug, Clone)]
pub struct Selector {
    source: String,
    root: ast::Expr,
}

impl Selector {
    /// Compiles `sql`, or fails with [`ProtocolError::Malformed`] whose reason names the byte
    /// offset and the problem, wherever Apache's `SelectorParser.parse` throws.
    pub fn parse(sql: &str) -> Result<Selector> {
        Ok(Selector {
            source: sql.to_owned(),
            root: parser::parse(sql)?,
        })
    }

    /// The text the selector was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether a message with these properties is delivered: the expression is TRUE.
    pub fn evaluate<P: PropertySource + ?Sized>(&self, props: &P) -> bool {
        self.outcome(props).is_match()
    }

    /// The three-valued result of the expression, or the error Apache would raise.
    pub fn outcome<P: PropertySource + ?Sized>(&self, props: &P) -> Outcome {
        match eval::eval(&self.root, props) {
            Ok(eval::Value::Bool(true)) => Outcome::True,
            Ok(eval::Value::Bool(false)) => Outcome::False,
            Ok(eval::Value::Null) => Outcome::Unknown,
            // The root is a boolean expression by construction; anything else is not a match.
            Ok(_) => Outcome::Error(EvalError::new("result is not a Boolean")),
            Err(e) => Outcome::Error(e),
        }
    }
}

/// Two selectors are equal when they compile to the same expression, whatever their text.
impl PartialEq for Selector {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)
    }
}

impl std::str::FromStr for Selector {
    type Err = ProtocolError;

    fn from_str(s: &str) -> Result<Selector> {
        Selector::parse(s)
    }
}
