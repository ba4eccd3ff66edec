//! Recursive descent over `SelectorParser.jj`, with the checks Apache's `create*` factories
//! make while building the tree.
//!
//! Precedence, loosest first: `OR`; `AND`; `=`, `<>`, `IS [NOT] NULL`; `>`, `>=`, `<`, `<=`,
//! `[NOT] BETWEEN`, `[NOT] IN`, `[NOT] CONTAINS|STARTSWITH|ENDSWITH`; unary `+`, `-`, `NOT`.
//! Every binary level is left-associative. `NOT` binds tighter than comparisons, so
//! `NOT a = 1` is `(NOT a) = 1`, as in Apache.

use std::collections::VecDeque;

use super::ast::{CmpOp, Expr, Literal, StrOp};
use super::checks::{check_between, check_equal_operands, check_ordered_operand, decimal, float};
use super::lexer::{Lexer, Tok, Token};
use super::{syntax_error, MAX_DEPTH, MAX_NESTING};
use crate::error::{ProtocolError, Result};

/// A parsed node and the height of its tree (bounded by [`MAX_DEPTH`]; the nesting of
/// parentheses and unary operators, which costs parser stack, is bounded by [`MAX_NESTING`]).
/// The expression is boxed to keep the many `Node` temporaries on the recursive path small.
struct Node {
    expr: Box<Expr>,
    height: usize,
}

/// Internal results box the error so the frames on the recursive path stay small (nesting
/// costs stack on every level, in debug builds especially).
type PResult<T> = std::result::Result<T, Box<ProtocolError>>;

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
    let root = parser.or().map_err(|e| *e)?;
    Ok(*as_boolean(root, 0).map_err(|e| *e)?.expr)
}

/// The operators that continue an expression at the equality level.
#[derive(Clone, Copy)]
enum EqOp {
    Eq,
    Ne,
    Is,
}

/// The operators that continue an expression at the comparison level.
#[derive(Clone, Copy)]
enum RelOp {
    Ordered(CmpOp),
    Between,
    In,
    Str(StrOp),
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    ahead: VecDeque<Token<'a>>,
    /// Open parentheses and unary operators around the current position.
    nesting: usize,
}

impl<'a> Parser<'a> {
    /// The `n`th token ahead (0 or 1), lexing it if needed.
    fn peek(&mut self, n: usize) -> PResult<&Token<'a>> {
        while self.ahead.len() <= n {
            let token = self.lexer.next_token()?;
            self.ahead.push_back(token);
        }
        Ok(&self.ahead[n])
    }

    /// Applies `f` to the `n`th token ahead.
    fn look<T>(&mut self, n: usize, f: impl FnOnce(&Token<'a>) -> T) -> PResult<T> {
        Ok(f(self.peek(n)?))
    }

    fn bump(&mut self) -> PResult<Token<'a>> {
        self.peek(0)?;
        Ok(self.ahead.pop_front().unwrap_or(Token {
            tok: Tok::Eof,
            at: 0,
        }))
    }

    /// Consumes a token of kind `want` or fails.
    fn expect(&mut self, want: &Tok<'_>) -> PResult<()> {
        let token = self.bump()?;
        if &token.tok == want {
            Ok(())
        } else {
            Err(unexpected(&token, &want.describe()))
        }
    }

    /// Enters a parenthesis or unary operator.
    fn enter(&mut self, at: usize) -> PResult<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(Box::new(syntax_error(
                at,
                format!("parentheses and unary operators nested deeper than {MAX_NESTING}"),
            )));
        }
        Ok(())
    }

    fn or(&mut self) -> PResult<Node> {
        let mut left = self.and()?;
        while let Some(at) = self.look(0, |t| (t.tok == Tok::Or).then_some(t.at))? {
            self.bump()?;
            let right = self.and()?;
            left = logic(false, left, right, at)?;
        }
        Ok(left)
    }

    fn and(&mut self) -> PResult<Node> {
        let mut left = self.equality()?;
        while let Some(at) = self.look(0, |t| (t.tok == Tok::And).then_some(t.at))? {
            self.bump()?;
            let right = self.equality()?;
            left = logic(true, left, right, at)?;
        }
        Ok(left)
    }

    fn equality(&mut self) -> PResult<Node> {
        let mut left = self.comparison()?;
        loop {
            let (op, at) = self.look(0, |t| {
                let op = match t.tok {
                    Tok::Eq => Some(EqOp::Eq),
                    Tok::Ne => Some(EqOp::Ne),
                    Tok::Is => Some(EqOp::Is),
                    _ => None,
                };
                (op, t.at)
            })?;
            let Some(op) = op else { return Ok(left) };
            self.bump()?;
            left = match op {
                EqOp::Eq | EqOp::Ne => {
                    let right = self.comparison()?;
                    let op = if matches!(op, EqOp::Eq) {
                        CmpOp::Eq
                    } else {
                        CmpOp::Ne
                    };
                    build_equal(op, left, right, at)?
                }
                EqOp::Is => self.is_null(left, at)?,
            };
        }
    }

    /// The rest of `IS NULL` / `IS NOT NULL` after `IS`.
    fn is_null(&mut self, left: Node, at: usize) -> PResult<Node> {
        let not = if self.look(0, |t| t.tok == Tok::Null)? {
            false
        } else {
            self.expect(&Tok::Not)?;
            true
        };
        self.expect(&Tok::Null)?;
        let expr = Expr::IsNull {
            expr: left.expr,
            not,
        };
        node(expr, left.height, at)
    }

    fn comparison(&mut self) -> PResult<Node> {
        let mut left = self.unary()?;
        loop {
            let Some((op, not, at)) = self.comparison_op()? else {
                return Ok(left);
            };
            left = match op {
                RelOp::Ordered(cmp) => {
                    let right = self.unary()?;
                    build_ordered(cmp, left, right, at)?
                }
                RelOp::Between => {
                    let low = self.unary()?;
                    self.expect(&Tok::And)?;
                    let high = self.unary()?;
                    build_between(left, low, high, not, at)?
                }
                RelOp::In => {
                    let list = self.in_list()?;
                    build_in(left, list, not, at)?
                }
                RelOp::Str(op) => {
                    let pattern = self.string_literal()?;
                    let expr = Expr::Str {
                        op,
                        expr: left.expr,
                        pattern,
                        not,
                    };
                    node(expr, left.height, at)?
                }
            };
        }
    }

    /// Consumes the operator continuing a comparison (`NOT` included), if there is one.
    fn comparison_op(&mut self) -> PResult<Option<(RelOp, bool, usize)>> {
        fn rel(tok: &Tok<'_>) -> Option<RelOp> {
            Some(match tok {
                Tok::Gt => RelOp::Ordered(CmpOp::Gt),
                Tok::Ge => RelOp::Ordered(CmpOp::Ge),
                Tok::Lt => RelOp::Ordered(CmpOp::Lt),
                Tok::Le => RelOp::Ordered(CmpOp::Le),
                Tok::Between => RelOp::Between,
                Tok::In => RelOp::In,
                Tok::Contains => RelOp::Str(StrOp::Contains),
                Tok::StartsWith => RelOp::Str(StrOp::StartsWith),
                Tok::EndsWith => RelOp::Str(StrOp::EndsWith),
                _ => return None,
            })
        }
        let (first, is_not, at) = self.look(0, |t| (rel(&t.tok), t.tok == Tok::Not, t.at))?;
        if let Some(op) = first {
            self.bump()?;
            return Ok(Some((op, false, at)));
        }
        if !is_not {
            return Ok(None);
        }
        // LOOKAHEAD(2): NOT must be followed by one of the negatable operators.
        match self.look(1, |t| rel(&t.tok))? {
            Some(op @ (RelOp::Between | RelOp::In | RelOp::Str(_))) => {
                self.bump()?;
                self.bump()?;
                Ok(Some((op, true, at)))
            }
            _ => {
                let after = self.peek(1)?;
                Err(unexpected(
                    after,
                    "BETWEEN, IN, CONTAINS, STARTSWITH or ENDSWITH after NOT",
                ))
            }
        }
    }

    /// `( 'a' [, 'b']* )`.
    fn in_list(&mut self) -> PResult<Vec<String>> {
        self.expect(&Tok::LParen)?;
        let mut list = vec![self.string_literal()?];
        while self.look(0, |t| t.tok == Tok::Comma)? {
            self.bump()?;
            list.push(self.string_literal()?);
        }
        self.expect(&Tok::RParen)?;
        Ok(list)
    }

    fn string_literal(&mut self) -> PResult<String> {
        let token = self.bump()?;
        match token.tok {
            Tok::Str(s) => Ok(s),
            _ => Err(unexpected(&token, "a string literal")),
        }
    }

    fn unary(&mut self) -> PResult<Node> {
        let (op, at) = self.look(0, |t| {
            let op = match t.tok {
                Tok::Plus => Some(None),
                Tok::Minus => Some(Some(false)),
                Tok::Not => Some(Some(true)),
                _ => None,
            };
            (op, t.at)
        })?;
        let Some(op) = op else { return self.primary() };
        self.bump()?;
        self.enter(at)?;
        let inner = self.unary()?;
        self.nesting -= 1;
        match op {
            None => Ok(inner),
            Some(is_not) => build_unary(is_not, inner, at),
        }
    }

    fn primary(&mut self) -> PResult<Node> {
        let Some(at) = self.look(0, |t| (t.tok == Tok::LParen).then_some(t.at))? else {
            let token = self.bump()?;
            return atom(token);
        };
        self.bump()?;
        self.enter(at)?;
        let inner = self.or()?;
        self.expect(&Tok::RParen)?;
        self.nesting -= 1;
        Ok(inner)
    }
}

fn too_deep(at: usize) -> Box<ProtocolError> {
    Box::new(syntax_error(
        at,
        format!("expression nested deeper than {MAX_DEPTH}"),
    ))
}

/// Builds a node over children of the given heights, enforcing the depth bound.
fn node(expr: Expr, child_height: usize, at: usize) -> PResult<Node> {
    let height = child_height + 1;
    if height > MAX_DEPTH {
        return Err(too_deep(at));
    }
    Ok(Node {
        expr: Box::new(expr),
        height,
    })
}

/// A literal or a property.
fn atom(token: Token<'_>) -> PResult<Node> {
    let at = token.at;
    let expr = match token.tok {
        Tok::Str(s) => Expr::Lit(Literal::Str(s)),
        Tok::Decimal(text) => Expr::Lit(decimal(text, at)?),
        Tok::Float(text) => Expr::Lit(float(text, at)?),
        Tok::True => Expr::Lit(Literal::Bool(true)),
        Tok::False => Expr::Lit(Literal::Bool(false)),
        Tok::Null => Expr::Lit(Literal::Null),
        Tok::Id(name) => Expr::Prop(name.to_owned()),
        _ => return Err(unexpected(&token, "an expression")),
    };
    node(expr, 0, at)
}

/// `asBooleanExpression`: boolean nodes pass, a property gets a boolean cast, anything else (a
/// number, a string, a negation) is an error.
fn as_boolean(n: Node, at: usize) -> PResult<Node> {
    match *n.expr {
        Expr::Prop(ref name) => node(Expr::Cast(name.clone()), n.height, at),
        ref e if e.is_boolean() => Ok(n),
        ref e => Err(Box::new(syntax_error(
            at,
            format!("expression will not result in a boolean value: {e}"),
        ))),
    }
}

/// `UnaryExpression.createNOT` (of a boolean) or `createNegate`.
fn build_unary(is_not: bool, inner: Node, at: usize) -> PResult<Node> {
    if is_not {
        let inner = as_boolean(inner, at)?;
        node(Expr::Not(inner.expr), inner.height, at)
    } else {
        node(Expr::Neg(inner.expr), inner.height, at)
    }
}

/// `LogicExpression.createOR` / `createAND`, flattening chains of the same operator.
fn logic(is_and: bool, left: Node, right: Node, at: usize) -> PResult<Node> {
    let left = as_boolean(left, at)?;
    let right = as_boolean(right, at)?;
    let mut items = Vec::new();
    let mut child_height = 0;
    for part in [left, right] {
        match *part.expr {
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
    node(expr, child_height, at)
}

/// `createEqual` / `createNotEqual` with their operand checks.
fn build_equal(op: CmpOp, left: Node, right: Node, at: usize) -> PResult<Node> {
    check_equal_operands(&left.expr, &right.expr, at)?;
    let h = left.height.max(right.height);
    node(Expr::Cmp(op, left.expr, right.expr), h, at)
}

/// `createGreaterThan` and friends with `checkLessThanOperand` on both sides.
fn build_ordered(op: CmpOp, left: Node, right: Node, at: usize) -> PResult<Node> {
    check_ordered_operand(&left.expr, at)?;
    check_ordered_operand(&right.expr, at)?;
    let h = left.height.max(right.height);
    node(Expr::Cmp(op, left.expr, right.expr), h, at)
}

fn build_between(value: Node, low: Node, high: Node, not: bool, at: usize) -> PResult<Node> {
    check_between(&value.expr, &low.expr, &high.expr, not, at)?;
    let h = value.height.max(low.height).max(high.height);
    let expr = Expr::Between {
        expr: value.expr,
        low: low.expr,
        high: high.expr,
        not,
    };
    node(expr, h, at)
}

/// `createInFilter` / `createNotInFilter`: the left side must be a property.
fn build_in(left: Node, list: Vec<String>, not: bool, at: usize) -> PResult<Node> {
    let Expr::Prop(prop) = *left.expr else {
        return Err(Box::new(syntax_error(
            at,
            "IN expects a property on its left",
        )));
    };
    node(Expr::In { prop, list, not }, 0, at)
}

fn unexpected(token: &Token<'_>, wanted: &str) -> Box<ProtocolError> {
    Box::new(syntax_error(
        token.at,
        format!("expected {wanted}, found {}", token.tok.describe()),
    ))
}
