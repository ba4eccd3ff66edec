//! The checks Apache's `ConstantExpression` and `ComparisonExpression` factories make while the
//! tree is built; each failure is a parse error.

use super::ast::{Expr, Literal};
use super::eval::{compare, Value};
use super::syntax_error;
use crate::error::Result;

/// `ConstantExpression.createFromDecimal`: a `long` (an error beyond its range), narrowed to
/// `int` when it fits.
pub(super) fn decimal(text: &str, at: usize) -> Result<Literal> {
    let digits = text.trim_end_matches(['l', 'L']);
    let value: i64 = digits
        .parse()
        .map_err(|_| syntax_error(at, format!("{text} is out of the long range")))?;
    Ok(i32::try_from(value).map_or(Literal::Long(value), Literal::Int))
}

/// `ConstantExpression.createFloat`: a double that must be finite and at least
/// `Double.MIN_VALUE`, so `0.0` and underflowing literals are rejected, as in Apache.
pub(super) fn float(text: &str, at: usize) -> Result<Literal> {
    let value = super::java::parse_double(text)
        .ok_or_else(|| syntax_error(at, format!("{text} is not a number")))?;
    if value > f64::MAX {
        return Err(syntax_error(
            at,
            format!("{text} is greater than Double.MAX_VALUE"),
        ));
    }
    if value < f64::from_bits(1) {
        return Err(syntax_error(
            at,
            format!("{text} is less than Double.MIN_VALUE"),
        ));
    }
    Ok(Literal::Double(value))
}

/// `checkEqualOperand` (no NULL literal) and `checkEqualOperandCompatability` (a TRUE/FALSE
/// literal on the left cannot meet a number or string literal on the right).
pub(super) fn check_equal_operands(left: &Expr, right: &Expr, at: usize) -> Result<()> {
    for side in [left, right] {
        if let Expr::Lit(Literal::Null) = side {
            return Err(syntax_error(at, "NULL cannot be compared; use IS NULL"));
        }
    }
    if let (Expr::Lit(_), Expr::Lit(_)) = (left, right) {
        if left.is_boolean() && !right.is_boolean() {
            return Err(syntax_error(
                at,
                format!("'{left}' cannot be compared with '{right}'"),
            ));
        }
    }
    Ok(())
}

/// `checkLessThanOperand`: a literal must be a number; a boolean expression is refused.
pub(super) fn check_ordered_operand(e: &Expr, at: usize) -> Result<()> {
    let ok = match e {
        Expr::Lit(lit) => matches!(lit, Literal::Int(_) | Literal::Long(_) | Literal::Double(_)),
        e => !e.is_boolean(),
    };
    if ok {
        Ok(())
    } else {
        Err(syntax_error(at, format!("value '{e}' cannot be compared")))
    }
}

/// `createBetween`'s check of two literal bounds (not null, low <= high) — only for `BETWEEN`,
/// and only when both bounds are literals (`-5` is a negation, not a literal) — then the
/// operand checks of the comparisons it expands to.
pub(super) fn check_between(
    value: &Expr,
    low: &Expr,
    high: &Expr,
    not: bool,
    at: usize,
) -> Result<()> {
    if let (false, Expr::Lit(lo), Expr::Lit(hi)) = (not, low, high) {
        if matches!(lo, Literal::Null) || matches!(hi, Literal::Null) {
            return Err(syntax_error(at, "BETWEEN bounds cannot be NULL"));
        }
        let order = compare(Value::of(hi), Value::of(lo))
            .map_err(|e| syntax_error(at, format!("BETWEEN bounds: {e}")))?;
        if order.is_lt() {
            return Err(syntax_error(
                at,
                format!("BETWEEN lower bound {lo} is greater than upper bound {hi}"),
            ));
        }
    }
    for e in [value, low, value, high] {
        check_ordered_operand(e, at)?;
    }
    Ok(())
}
