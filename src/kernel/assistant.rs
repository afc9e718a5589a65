//! The seam between the WhatsApp channel and an AI assistant. In the `AI` bot mode the channel
//! hands each turn's customer messages to the application's [`Assistant`] and sends the text it
//! answers; whenever it does not answer ([`AssistantAnswer::Fallback`]) the guided menu does, so a
//! customer is never left without a reply.
//!
//! The trait is generic over the context it runs in (the application state), so this layer names
//! no layer above it.

use chrono::{DateTime, Utc};

use super::ids::{ConversationId, CustomerId, MessageId, TenantId};

/// What the assistant is asked to answer: the customer's messages of one turn, oldest first.
#[derive(Clone, Debug)]
pub struct AssistantTurn {
    pub tenant_id: TenantId,
    pub conversation_id: ConversationId,
    pub customer_id: CustomerId,
    /// The texts the customer wrote (typed, or the titles of tapped buttons).
    pub messages: Vec<String>,
    /// The turn's last customer message: a turn answered before (then interrupted by a crash
    /// before its reply was stored) is known by it.
    pub last_message_id: MessageId,
    pub now: DateTime<Utc>,
}

/// How the assistant answered a turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssistantAnswer {
    /// The text to send, and whether the conversation now needs a person of the business.
    Reply { text: String, needs_attention: bool },
    /// The assistant cannot answer this turn (why, as a metrics label): the menu answers it.
    Fallback { reason: &'static str },
}

/// Answers a customer's turn in free language.
#[async_trait::async_trait]
pub trait Assistant<C>: Send + Sync {
    async fn answer(&self, ctx: &C, turn: &AssistantTurn) -> AssistantAnswer;
}

/// The fallback reason of an application without an AI provider.
pub const NOT_CONFIGURED: &str = "not_configured";

/// The assistant of an application without an AI provider: every turn goes to the menu.
pub struct NoAssistant;

#[async_trait::async_trait]
impl<C: Sync> Assistant<C> for NoAssistant {
    async fn answer(&self, _: &C, _: &AssistantTurn) -> AssistantAnswer {
        AssistantAnswer::Fallback {
            reason: NOT_CONFIGURED,
        }
    }
}
