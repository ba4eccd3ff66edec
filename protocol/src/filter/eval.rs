//! Evaluation with Apache's values: Java `null`, `Boolean`, `Integer`, `Long`, `Double` and
//! `String`, and its exceptions (an [`EvalError`] aborts the whole selector).

use std::cmp::Ordering;

use super::ast::{CmpOp, Expr, Literal};
use super::java;
use super::{EvalError, PropertySource};

/// A runtime value; `Null` is Java's `null` (SQL's unknown).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(&'a str),
}

impl<'a> Value<'a> {
    pub(crate) fn of(lit: &'a Literal) -> Self {
        match lit {
            Literal::Null => Value::Null,
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Int(v) => Value::Int(*v),
            Literal::Long(v) => Value::Long(*v),
            Literal::Double(v) => Value::Double(*v),
            Literal::Str(s) => Value::Str(s),
        }
    }
}

type Eval<'a> = Result<Value<'a>, EvalError>;

fn number_format(text: &str) -> EvalError {
    EvalError::new(format!("NumberFormatException: {text:?}"))
}

/// `ComparisonExpression.__compare` with string conversion on (as the parser always sets it).
///
/// Mixed types are converted toward the other side: numbers widen (`int` → `long` → `double`),
/// a string next to a number is parsed as that number's type (`Integer.valueOf` for an `int`
/// literal, so `"5.5"` against `5` is an error), a string next to a boolean goes through
/// `Boolean.valueOf`. A boolean on the left of a string is a `ClassCastException` in Apache (an
/// error); a boolean against a number, either way round, compares as "less" (Java's `-1`).
pub(crate) fn compare(lv: Value<'_>, rv: Value<'_>) -> Result<Ordering, EvalError> {
    use Value::*;
    let int = |s: &str| java::parse_int(s).ok_or_else(|| number_format(s));
    let long = |s: &str| java::parse_long(s).ok_or_else(|| number_format(s));
    let double = |s: &str| java::parse_double(s).ok_or_else(|| number_format(s));
    Ok(match (lv, rv) {
        (Null, _) | (_, Null) => return Err(EvalError::new("NullPointerException in compare")),
        (Bool(a), Bool(b)) => a.cmp(&b),
        (Bool(_), Str(_)) => return Err(EvalError::new("ClassCastException: Boolean vs String")),
        (Bool(_), _) | (Int(_) | Long(_) | Double(_), Bool(_)) => Ordering::Less,
        (Int(a), Int(b)) => a.cmp(&b),
        (Int(a), Long(b)) => i64::from(a).cmp(&b),
        (Int(a), Double(b)) => java::compare_double(f64::from(a), b),
        (Int(a), Str(s)) => a.cmp(&int(s)?),
        (Long(a), Int(b)) => a.cmp(&i64::from(b)),
        (Long(a), Long(b)) => a.cmp(&b),
        (Long(a), Double(b)) => java::compare_double(a as f64, b),
        (Long(a), Str(s)) => a.cmp(&long(s)?),
        (Double(a), Int(b)) => java::compare_double(a, f64::from(b)),
        (Double(a), Long(b)) => java::compare_double(a, b as f64),
        (Double(a), Double(b)) => java::compare_double(a, b),
        (Double(a), Str(s)) => java::compare_double(a, double(s)?),
        (Str(s), Bool(b)) => java::parse_boolean(s).cmp(&b),
        (Str(s), Int(b)) => int(s)?.cmp(&b),
        (Str(s), Long(b)) => long(s)?.cmp(&b),
        (Str(s), Double(b)) => java::compare_double(double(s)?, b),
        (Str(a), Str(b)) => java::compare_string(a, b),
    })
}

/// Evaluates `e` against `props`.
pub(crate) fn eval<'a, P: PropertySource + ?Sized>(e: &'a Expr, props: &'a P) -> Eval<'a> {
    Ok(match e {
        Expr::Lit(lit) => Value::of(lit),
        Expr::Prop(name) => props.property(name).map_or(Value::Null, Value::Str),
        // createBooleanCast: null stays null, anything but a Boolean (a string here) is FALSE.
        Expr::Cast(name) => match props.property(name) {
            None => Value::Null,
            Some(_) => Value::Bool(false),
        },
        // createNegate: numbers are negated (Java's wrapping minus), anything else is null.
        Expr::Neg(inner) => match eval(inner, props)? {
            Value::Int(v) => Value::Int(v.wrapping_neg()),
            Value::Long(v) => Value::Long(v.wrapping_neg()),
            Value::Double(v) => Value::Double(-v),
            _ => Value::Null,
        },
        Expr::Not(inner) => not(boolean(eval(inner, props)?)?),
        Expr::And(items) => {
            // LogicExpression.createAND, folded left to right: the first FALSE wins without
            // evaluating the rest, otherwise any null makes the result null.
            let mut unknown = false;
            for item in items {
                match boolean(eval(item, props)?)? {
                    Some(false) => return Ok(Value::Bool(false)),
                    Some(true) => {}
                    None => unknown = true,
                }
            }
            tri(if unknown { None } else { Some(true) })
        }
        Expr::Or(items) => {
            let mut unknown = false;
            for item in items {
                match boolean(eval(item, props)?)? {
                    Some(true) => return Ok(Value::Bool(true)),
                    Some(false) => {}
                    None => unknown = true,
                }
            }
            tri(if unknown { None } else { Some(false) })
        }
        Expr::Cmp(CmpOp::Eq, l, r) => equal(eval(l, props)?, eval(r, props)?)?,
        Expr::Cmp(CmpOp::Ne, l, r) => not(boolean(equal(eval(l, props)?, eval(r, props)?)?)?),
        Expr::Cmp(op, l, r) => ordered(*op, l, r, props)?,
        // doCreateEqual(x, NULL): TRUE exactly when x is null; never unknown.
        Expr::IsNull { expr, not } => {
            Value::Bool(matches!(eval(expr, props)?, Value::Null) != *not)
        }
        Expr::Between {
            expr,
            low,
            high,
            not: false,
        } => {
            // createBetween = AND(x >= low, x <= high).
            let first = boolean(ordered(CmpOp::Ge, expr, low, props)?)?;
            if first == Some(false) {
                return Ok(Value::Bool(false));
            }
            let second = boolean(ordered(CmpOp::Le, expr, high, props)?)?;
            match (first, second) {
                (_, Some(false)) => Value::Bool(false),
                (Some(true), Some(true)) => Value::Bool(true),
                _ => Value::Null,
            }
        }
        Expr::Between {
            expr,
            low,
            high,
            not: true,
        } => {
            // createNotBetween = OR(x < low, x > high).
            let first = boolean(ordered(CmpOp::Lt, expr, low, props)?)?;
            if first == Some(true) {
                return Ok(Value::Bool(true));
            }
            let second = boolean(ordered(CmpOp::Gt, expr, high, props)?)?;
            match (first, second) {
                (_, Some(true)) => Value::Bool(true),
                (Some(false), Some(false)) => Value::Bool(false),
                _ => Value::Null,
            }
        }
        // UnaryInExpression: null for a missing property, else exact string membership.
        Expr::In { prop, list, not } => match props.property(prop) {
            None => Value::Null,
            Some(v) => Value::Bool(list.iter().any(|item| item == v) != *not),
        },
        // ContainsExpression and friends: an empty pattern, a null or a non-string operand is
        // FALSE for the NOT forms too; never unknown.
        Expr::Str {
            op,
            expr,
            pattern,
            not,
        } => {
            if pattern.is_empty() {
                return Ok(Value::Bool(false));
            }
            match eval(expr, props)? {
                Value::Str(s) => Value::Bool(op.test(s, pattern) != *not),
                _ => Value::Bool(false),
            }
        }
    })
}

/// The `(Boolean)` cast Apache applies to operands of AND, OR and NOT.
fn boolean(v: Value<'_>) -> Result<Option<bool>, EvalError> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        _ => Err(EvalError::new("ClassCastException: not a Boolean")),
    }
}

fn tri(v: Option<bool>) -> Value<'static> {
    v.map_or(Value::Null, Value::Bool)
}

fn not(v: Option<bool>) -> Value<'static> {
    tri(v.map(|b| !b))
}

/// `doCreateEqual`: null on the left gives null, null only on the right gives FALSE, two nulls
/// are equal; otherwise [`compare`] decides.
fn equal<'a>(lv: Value<'a>, rv: Value<'a>) -> Eval<'a> {
    Ok(match (lv, rv) {
        (Value::Null, Value::Null) => Value::Bool(true),
        (Value::Null, _) => Value::Null,
        (_, Value::Null) => Value::Bool(false),
        _ => Value::Bool(compare(lv, rv)? == Ordering::Equal),
    })
}

/// `ComparisonExpression.evaluate` for `>`, `>=`, `<`, `<=`: a null left side is null without
/// evaluating the right; two strings are both parsed with `Double.valueOf` (an error if either
/// is not a number); anything else goes through [`compare`].
fn ordered<'a, P: PropertySource + ?Sized>(
    op: CmpOp,
    l: &'a Expr,
    r: &'a Expr,
    props: &'a P,
) -> Eval<'a> {
    let lv = eval(l, props)?;
    if matches!(lv, Value::Null) {
        return Ok(Value::Null);
    }
    let rv = eval(r, props)?;
    if matches!(rv, Value::Null) {
        return Ok(Value::Null);
    }
    let ord = match (lv, rv) {
        (Value::Str(a), Value::Str(b)) => {
            let parse = |s: &str| {
                java::parse_double(s).ok_or_else(|| {
                    EvalError::new(format!("cannot compare strings by order: {s:?}"))
                })
            };
            java::compare_double(parse(a)?, parse(b)?)
        }
        _ => compare(lv, rv)?,
    };
    Ok(Value::Bool(match op {
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        // Not built for these; given for completeness.
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
    }))
}
