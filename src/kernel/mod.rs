//! The kernel: the vocabulary every layer shares, importing nothing else of this crate. Typed ids
//! and [`TypedId::parse`](ids::TypedId::parse), the [`Viewer`](viewer::Viewer), value types that
//! parse input once (money, phone, e-mail, text, time zone), the one error type, crypto, access
//! tokens, the clock, the event envelope, the AI assistant's seam, and how customers read money and dates ([`pt_br`]).

pub mod assistant;
pub mod clock;
pub mod crypto;
pub mod error;
pub mod events;
pub mod ids;
pub mod jwt;
pub mod pt_br;
pub mod values;
pub mod viewer;
