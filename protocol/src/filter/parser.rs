//! Recursive descent over `SelectorParser.jj`, with the checks Apache's `create*` factories
//! make while building the tree.
//!
//! Precedence, loosest first: `OR`; `AND`; `=`, `<>`, `IS [NOT] NULL`; `>`, `>=`, `<`, `<=`,
//! `[NOT] BETWEEN`, `[NOT] IN`, `[NOT] CONTAINS|STARTSWITH|ENDSWITH`; unary `+`, `-`, `NOT`.
//! Every binary level is left-associative. `NOT` binds tighter than comparisons, so
//! `NOT a = 1` is `(NOT a) = 1`, as in Apache.

use std::collections::VecDeque;

use super::ast::{CmpOp, Expr, Literal, StrOp};
use super::eval::{compare, Value};
use super::lexer::{Lexer, Tok, Token};
use super::{syntax_error, MAX_DEPTH};
use crate::error::Result;

/// A parsed node and the height of its tree (bounded by [`MAX_DEPTH`]).
struct Node {
    expr: Expr,
    height: usize,
}

/// Parses `src` into the root expression.
///
/// Like `JmsSelector()`, this stops after the longest expression: whatever follows it is never
/// read (Apache's grammar has no `<EOF>`), except that the one token the grammar looks at to end
/// its loops must lex.
pub(crate) fn parse(src: &str) -> Result<Expr> {
    let mut parser = Parser {
        lexer: Lexer::new(src),
        ahead: VecDeque::with_capacity(2),
        nesting: 0,
    };
    let root = parser.or()?;
    Ok(parser.as_boolean(root, 0)?.expr)
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    ahead: VecDeque<Token<'a>>,
    /// Open parentheses and unary operators around the current position.
    nesting: usize,
}

impl<'a> Parser<'a> {
    /// The `n`th token ahead (0 or 1), lexing it if needed.
    fn peek(&mut self, n: usize) -> Result<&Token<'a>> {
        while self.ahead.len() <= n {
            let token = self.lexer.next_token()?;
            self.ahead.push_back(token);
        }
        Ok(&self.ahead[n])
    }

    fn peek_tok(&mut self, n: usize) -> Result<&Tok<'a>> {
        Ok(&self.peek(n)?.tok)
    }

    fn bump(&mut self) -> Result<Token<'a>> {
        self.peek(0)?;
        Ok(self.ahead.pop_front().unwrap_or(Token {
            tok: Tok::Eof,
            at: 0,
        }))
    }

    /// Consumes a token of kind `want` or fails.
    fn expect(&mut self, want: &Tok<'_>) -> Result<()> {
        let token = self.bump()?;
        if &token.tok == want {
            Ok(())
        } else {
            Err(unexpected(&token, &want.describe()))
        }
    }

    /// Builds a node over children of the given heights, enforcing the depth bound.
    fn node(&self, expr: Expr, child_height: usize, at: usize) -> Result<Node> {
        let height = child_height + 1;
        if height > MAX_DEPTH {
            return Err(syntax_error(
                at,
                format!("expression nested deeper than {MAX_DEPTH}"),
            ));
        }
        Ok(Node { expr, height })
    }

    /// Enters a parenthesis or unary operator.
    fn enter(&mut self, at: usize) -> Result<()> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(syntax_error(
                at,
                format!("expression nested deeper than {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }

    /// `asBooleanExpression`: boolean nodes pass, a property gets a boolean cast, anything
    /// else (a number, a string, a negation) is an error.
    fn as_boolean(&self, node: Node, at: usize) -> Result<Node> {
        match node.expr {
            Expr::Prop(name) => self.node(Expr::Cast(name), node.height, at),
            ref e if e.is_boolean() => Ok(node),
            e => Err(syntax_error(
                at,
                format!("expression will not result in a boolean value: {e}"),
            )),
        }
    }

    /// `LogicExpression.createOR` / `createAND`, flattening chains of the same operator.
    fn logic(&self, is_and: bool, left: Node, right: Node, at: usize) -> Result<Node> {
        let left = self.as_boolean(left, at)?;
        let right = self.as_boolean(right, at)?;
        let mut items = Vec::new();
        let mut child_height = 0;
        for part in [left, right] {
            match part.expr {
                Expr::And(list) if is_and => {
                    child_height = child_height.max(part.height - 1);
                    items.extend(list);
                }
                Expr::Or(list) if !is_and => {
                    child_height = child_height.max(part.height - 1);
                    items.extend(list);
                }
                expr => {
                    child_height = child_height.max(part.height);
                    items.push(expr);
                }
            }
        }
        let expr = if is_and {
            Expr::And(items)
        } else {
            Expr::Or(items)
        };
        self.node(expr, child_height, at)
    }

    fn or(&mut self) -> Result<Node> {
        let mut left = self.and()?;
        while let Tok::Or = self.peek_tok(0)? {
            let at = self.bump()?.at;
            let right = self.and()?;
            left = self.logic(false, left, right, at)?;
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node> {
        let mut left = self.equality()?;
        while let Tok::And = self.peek_tok(0)? {
            let at = self.bump()?.at;
            let right = self.equality()?;
            left = self.logic(true, left, right, at)?;
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Node> {
        let mut left = self.comparison()?;
        loop {
            let at = self.peek(0)?.at;
            left = match self.peek_tok(0)? {
                Tok::Eq | Tok::Ne => {
                    let op = if self.bump()?.tok == Tok::Eq {
                        CmpOp::Eq
                    } else {
                        CmpOp::Ne
                    };
                    let right = self.comparison()?;
                    check_equal_operands(&left.expr, &right.expr, at)?;
                    let h = left.height.max(right.height);
                    self.node(Expr::Cmp(op, left.expr.into(), right.expr.into()), h, at)?
                }
                Tok::Is => {
                    self.bump()?;
                    let not = if *self.peek_tok(0)? == Tok::Null {
                        false
                    } else {
                        self.expect(&Tok::Not)?;
                        true
                    };
                    self.expect(&Tok::Null)?;
                    let expr = Expr::IsNull {
                        expr: left.expr.into(),
                        not,
                    };
                    self.node(expr, left.height, at)?
                }
                _ => return Ok(left),
            };
        }
    }

    fn comparison(&mut self) -> Result<Node> {
        let mut left = self.unary()?;
        loop {
            let at = self.peek(0)?.at;
            let (not, op_tok) = match self.peek_tok(0)? {
                Tok::Not => match self.peek_tok(1)? {
                    t @ (Tok::Between
                    | Tok::In
                    | Tok::Contains
                    | Tok::StartsWith
                    | Tok::EndsWith) => (true, t.clone()),
                    _ => {
                        let after = self.peek(1)?.clone();
                        return Err(unexpected(
                            &after,
                            "BETWEEN, IN, CONTAINS, STARTSWITH or ENDSWITH after NOT",
                        ));
                    }
                },
                t @ (Tok::Gt
                | Tok::Ge
                | Tok::Lt
                | Tok::Le
                | Tok::Between
                | Tok::In
                | Tok::Contains
                | Tok::StartsWith
                | Tok::EndsWith) => (false, t.clone()),
                _ => return Ok(left),
            };
            if not {
                self.bump()?;
            }
            self.bump()?;
            left = match op_tok {
                Tok::Gt | Tok::Ge | Tok::Lt | Tok::Le => {
                    let op = match op_tok {
                        Tok::Gt => CmpOp::Gt,
                        Tok::Ge => CmpOp::Ge,
                        Tok::Lt => CmpOp::Lt,
                        _ => CmpOp::Le,
                    };
                    let right = self.unary()?;
                    check_ordered_operand(&left.expr, at)?;
                    check_ordered_operand(&right.expr, at)?;
                    let h = left.height.max(right.height);
                    self.node(Expr::Cmp(op, left.expr.into(), right.expr.into()), h, at)?
                }
                Tok::Between => {
                    let low = self.unary()?;
                    self.expect(&Tok::And)?;
                    let high = self.unary()?;
                    check_between(&left.expr, &low.expr, &high.expr, not, at)?;
                    let h = left.height.max(low.height).max(high.height);
                    let expr = Expr::Between {
                        expr: left.expr.into(),
                        low: low.expr.into(),
                        high: high.expr.into(),
                        not,
                    };
                    self.node(expr, h, at)?
                }
                Tok::In => {
                    let list = self.in_list()?;
                    let Expr::Prop(prop) = left.expr else {
                        return Err(syntax_error(at, "IN expects a property on its left"));
                    };
                    self.node(Expr::In { prop, list, not }, 0, at)?
                }
                _ => {
                    let op = match op_tok {
                        Tok::Contains => StrOp::Contains,
                        Tok::StartsWith => StrOp::StartsWith,
                        _ => StrOp::EndsWith,
                    };
                    let pattern = self.string_literal()?;
                    let expr = Expr::Str {
                        op,
                        expr: left.expr.into(),
                        pattern,
                        not,
                    };
                    self.node(expr, left.height, at)?
                }
            };
        }
    }

    /// `( 'a' [, 'b']* )`.
    fn in_list(&mut self) -> Result<Vec<String>> {
        self.expect(&Tok::LParen)?;
        let mut list = vec![self.string_literal()?];
        while let Tok::Comma = self.peek_tok(0)? {
            self.bump()?;
            list.push(self.string_literal()?);
        }
        self.expect(&Tok::RParen)?;
        Ok(list)
    }

    fn string_literal(&mut self) -> Result<String> {
        let token = self.bump()?;
        match token.tok {
            Tok::Str(s) => Ok(s),
            _ => Err(unexpected(&token, "a string literal")),
        }
    }

    fn unary(&mut self) -> Result<Node> {
        let at = self.peek(0)?.at;
        match self.peek_tok(0)? {
            Tok::Plus => {
                self.bump()?;
                self.enter(at)?;
                let inner = self.unary()?;
                self.nesting -= 1;
                Ok(inner)
            }
            Tok::Minus | Tok::Not => {
                let is_not = self.bump()?.tok == Tok::Not;
                self.enter(at)?;
                let inner = self.unary()?;
                self.nesting -= 1;
                if is_not {
                    let inner = self.as_boolean(inner, at)?;
                    self.node(Expr::Not(inner.expr.into()), inner.height, at)
                } else {
                    self.node(Expr::Neg(inner.expr.into()), inner.height, at)
                }
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Node> {
        let token = self.bump()?;
        let at = token.at;
        let expr = match token.tok {
            Tok::Str(s) => Expr::Lit(Literal::Str(s)),
            Tok::Decimal(text) => Expr::Lit(decimal(text, at)?),
            Tok::Float(text) => Expr::Lit(float(text, at)?),
            Tok::True => Expr::Lit(Literal::Bool(true)),
            Tok::False => Expr::Lit(Literal::Bool(false)),
            Tok::Null => Expr::Lit(Literal::Null),
            Tok::Id(name) => Expr::Prop(name.to_owned()),
            Tok::LParen => {
                self.enter(at)?;
                let inner = self.or()?;
                self.expect(&Tok::RParen)?;
                self.nesting -= 1;
                return Ok(inner);
            }
            _ => return Err(unexpected(&token, "an expression")),
        };
        Ok(Node { expr, height: 1 })
    }
}

fn unexpected(token: &Token<'_>, wanted: &str) -> crate::ProtocolError {
    syntax_error(
        token.at,
        format!("expected {wanted}, found {}", token.tok.describe()),
    )
}

/// `ConstantExpression.createFromDecimal`: a `long` (an error beyond its range), narrowed to
/// `int` when it fits.
fn decimal(text: &str, at: usize) -> Result<Literal> {
    let digits = text.trim_end_matches(['l', 'L']);
    let value: i64 = digits
        .parse()
        .map_err(|_| syntax_error(at, format!("{text} is out of the long range")))?;
    Ok(i32::try_from(value).map_or(Literal::Long(value), Literal::Int))
}

/// `ConstantExpression.createFloat`: a double that must be finite and at least
/// `Double.MIN_VALUE`, so `0.0` and underflowing literals are rejected, as in Apache.
fn float(text: &str, at: usize) -> Result<Literal> {
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
fn check_equal_operands(left: &Expr, right: &Expr, at: usize) -> Result<()> {
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
fn check_ordered_operand(e: &Expr, at: usize) -> Result<()> {
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
fn check_between(value: &Expr, low: &Expr, high: &Expr, not: bool, at: usize) -> Result<()> {
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
