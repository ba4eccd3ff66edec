//! The compiled selector: one node per Apache expression class, printed back as SQL92.
//!
//! Parentheses leave no trace in Apache's tree (a parenthesised expression is the inner
//! expression itself), so none are kept here; [`Display`](fmt::Display) wraps every compound
//! node in parentheses, which re-parses to the same tree.

use std::fmt;

/// A literal (`ConstantExpression` / `BooleanConstantExpression`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Null,
    Bool(bool),
    /// A decimal literal that fits in a Java `int`.
    Int(i32),
    /// A decimal literal outside the `int` range.
    Long(i64),
    /// A floating-point literal (always finite and positive).
    Double(f64),
    Str(String),
}

/// `=`, `<>` and the four orderings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }
}

/// The 5.x string predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
}

impl StrOp {
    fn keyword(self) -> &'static str {
        match self {
            StrOp::Contains => "CONTAINS",
            StrOp::StartsWith => "STARTSWITH",
            StrOp::EndsWith => "ENDSWITH",
        }
    }

    /// `String.contains` / `startsWith` / `endsWith`.
    pub(crate) fn test(self, value: &str, pattern: &str) -> bool {
        match self {
            StrOp::Contains => value.contains(pattern),
            StrOp::StartsWith => value.starts_with(pattern),
            StrOp::EndsWith => value.ends_with(pattern),
        }
    }
}

/// An expression node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Lit(Literal),
    /// `PropertyExpression`: the property's string, or null when absent.
    Prop(String),
    /// `UnaryExpression.createBooleanCast` of a property, inserted where a boolean is needed.
    Cast(String),
    /// Unary minus (`UnaryExpression.createNegate`).
    Neg(Box<Expr>),
    /// `UnaryExpression.createNOT`.
    Not(Box<Expr>),
    /// A chain of `LogicExpression.createAND` (AND is associative here, so it is flattened).
    And(Vec<Expr>),
    /// A chain of `LogicExpression.createOR`.
    Or(Vec<Expr>),
    /// `ComparisonExpression`; `<>` is `NOT (=)`.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// `IS NULL` (`doCreateEqual(x, NULL)`), or `IS NOT NULL` when `not`.
    IsNull {
        expr: Box<Expr>,
        not: bool,
    },
    /// `BETWEEN` (`x >= low AND x <= high`) or `NOT BETWEEN` (`x < low OR x > high`).
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        not: bool,
    },
    /// `UnaryInExpression` on a property.
    In {
        prop: String,
        list: Vec<String>,
        not: bool,
    },
    /// `[NOT] CONTAINS | STARTSWITH | ENDSWITH 'pattern'`.
    Str {
        op: StrOp,
        expr: Box<Expr>,
        pattern: String,
        not: bool,
    },
}

impl Expr {
    /// Whether Apache's class for this node implements `BooleanExpression`.
    pub(crate) fn is_boolean(&self) -> bool {
        match self {
            Expr::Lit(lit) => matches!(lit, Literal::Null | Literal::Bool(_)),
            Expr::Prop(_) | Expr::Neg(_) => false,
            _ => true,
        }
    }
}

/// A string literal with `'` doubled (`ConstantExpression.encodeString`).
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("'")?;
        for (i, part) in self.0.split('\'').enumerate() {
            if i > 0 {
                f.write_str("''")?;
            }
            f.write_str(part)?;
        }
        f.write_str("'")
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("NULL"),
            Literal::Bool(true) => f.write_str("TRUE"),
            Literal::Bool(false) => f.write_str("FALSE"),
            Literal::Int(v) => write!(f, "{v}"),
            Literal::Long(v) => write!(f, "{v}"),
            // Debug is the shortest text that reads back to the same double, and it is always
            // in a form the grammar accepts (`1.5`, `1e300`, `1e-7`).
            Literal::Double(v) => write!(f, "{v:?}"),
            Literal::Str(s) => write!(f, "{}", Quoted(s)),
        }
    }
}

/// Writes `items` separated by `sep`.
fn join<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T], sep: &str) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not = |n: bool| if n { "NOT " } else { "" };
        match self {
            Expr::Lit(lit) => write!(f, "{lit}"),
            Expr::Prop(name) | Expr::Cast(name) => f.write_str(name),
            Expr::Neg(e) => write!(f, "(-{e})"),
            Expr::Not(e) => write!(f, "(NOT {e})"),
            Expr::And(items) => {
                f.write_str("(")?;
                join(f, items, " AND ")?;
                f.write_str(")")
            }
            Expr::Or(items) => {
                f.write_str("(")?;
                join(f, items, " OR ")?;
                f.write_str(")")
            }
            Expr::Cmp(op, l, r) => write!(f, "({l} {} {r})", op.symbol()),
            Expr::IsNull { expr, not: n } => write!(f, "({expr} IS {}NULL)", not(*n)),
            Expr::Between {
                expr,
                low,
                high,
                not: n,
            } => write!(f, "({expr} {}BETWEEN {low} AND {high})", not(*n)),
            Expr::In { prop, list, not: n } => {
                write!(f, "({prop} {}IN (", not(*n))?;
                let quoted: Vec<Quoted<'_>> = list.iter().map(|s| Quoted(s)).collect();
                join(f, &quoted, ", ")?;
                f.write_str("))")
            }
            Expr::Str {
                op,
                expr,
                pattern,
                not: n,
            } => write!(
                f,
                "({expr} {}{} {})",
                not(*n),
                op.keyword(),
                Quoted(pattern)
            ),
        }
    }
}
