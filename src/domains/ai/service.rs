//! The AI assistant: answers a customer's turn with a language model that calls the tools, and
//! meters what it used.
//!
//! A turn: the remembered answer when the same messages were answered before (a re-run after a
//! crash); else the quota check, the facts of the prompt and the history (read concurrently),
//! then up to [`MAX_ROUNDS`] model rounds, each round's tool calls run concurrently. The turn is
//! remembered and every call's usage recorded in one transaction. Whatever fails — the model
//! after its retries, a blocked or empty answer, five rounds without text, the quota — the turn
//! falls back to the menu, never to silence.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures_util::future::try_join_all;

use super::{
    model::{BillingMonth, NewTurn, NewUsage, RememberedTurn, UsageSummary},
    prompt::{self, Facts},
    repo,
    tools::{self, Party},
};
use crate::{
    clients::gemini::{Content, GenerateRequest, LanguageModel},
    db,
    domains::{
        appointments, customers, operating_hours, plans, saas_plans, services,
        tenants::{self, model::Tenant},
    },
    kernel::{
        assistant::{Assistant, AssistantAnswer, AssistantTurn},
        error::{AppError, AppResult},
        viewer::Viewer,
    },
    state::AppState,
};

/// Model rounds a turn may take (each may call tools) before it gives up.
pub const MAX_ROUNDS: usize = 5;

/// Remembered turns read back at most (the token budget then picks the most recent that fit).
const HISTORY_TURNS: u64 = 20;

/// Upcoming bookings the prompt lists.
const UPCOMING_IN_PROMPT: u64 = 10;

/// The assistant of an application with a language model.
pub struct AiAssistant {
    model: Arc<dyn LanguageModel>,
    /// The most history (estimated tokens) sent with a turn.
    history_token_budget: i64,
}

impl AiAssistant {
    pub fn new(model: Arc<dyn LanguageModel>, history_token_budget: u32) -> Self {
        Self {
            model,
            history_token_budget: i64::from(history_token_budget),
        }
    }
}

#[async_trait::async_trait]
impl Assistant<AppState> for AiAssistant {
    async fn answer(&self, state: &AppState, turn: &AssistantTurn) -> AssistantAnswer {
        match self.answer_turn(state, turn).await {
            Ok(answer) => answer,
            Err(err) => {
                tracing::error!(conversation = %turn.conversation_id, error = ?err, "the AI turn failed");
                AssistantAnswer::Fallback { reason: "error" }
            }
        }
    }
}

/// How a turn's rounds ended.
enum Ending {
    Answered(NewTurn),
    Failed(&'static str),
}

impl AiAssistant {
    async fn answer_turn(
        &self,
        state: &AppState,
        turn: &AssistantTurn,
    ) -> AppResult<AssistantAnswer> {
        let db = &state.db;
        if let Some(done) = repo::find_turn(
            db,
            turn.tenant_id,
            turn.conversation_id,
            turn.last_message_id,
        )
        .await?
        {
            return Ok(reply(done));
        }
        let tenant = tenants::service::find(db, turn.tenant_id).await?;
        let month = BillingMonth::of(turn.now, &tenant.time_zone);
        let quota = match saas_plans::service::find(db, tenant.saas_plan_id)
            .await?
            .ai_monthly_token_quota
        {
            Some(quota) => Some(Quota {
                limit: quota,
                used: repo::month_tokens(db, tenant.id, month).await?,
            }),
            None => None,
        };
        if let Some(quota) = quota
            && quota.used >= quota.limit
        {
            quota_reached(state, &tenant, month).await?;
            return Ok(AssistantAnswer::Fallback { reason: "quota" });
        }
        let (system_instruction, mut contents) = futures_util::try_join!(
            self.system_instruction(state, &tenant, turn),
            self.history(state, turn),
        )?;
        let first_of_turn = contents.len();
        contents.push(Content::user_text(&turn.messages.join("\n")));
        // One request for the whole turn: each round appends to its contents.
        let mut request = GenerateRequest {
            system_instruction,
            contents,
            tools: tools::declarations(),
        };
        let party = Party {
            state,
            tenant: &tenant,
            customer: turn.customer_id,
            now: turn.now,
        };
        let usage = |model: &str, usage| NewUsage {
            tenant_id: turn.tenant_id,
            conversation_id: turn.conversation_id,
            month,
            model: model.to_owned(),
            usage,
        };
        let mut calls = Vec::new();
        let mut talk_to_human = false;
        let mut ending = Ending::Failed("rounds");
        for _ in 0..MAX_ROUNDS {
            let generated = match self.model.generate(&request).await {
                Ok(generated) => generated,
                Err(err) => {
                    // A blocked answer is billed all the same.
                    calls.push(usage(self.model.model(), err.usage()));
                    ending = Ending::Failed(err.reason());
                    break;
                }
            };
            calls.push(usage(&generated.model, generated.usage));
            request.contents.push(generated.content);
            if generated.calls.is_empty() {
                let text = strip_reasoning(&generated.text);
                if text.is_empty() {
                    ending = Ending::Failed("empty");
                    break;
                }
                ending = Ending::Answered(NewTurn {
                    tenant_id: turn.tenant_id,
                    conversation_id: turn.conversation_id,
                    inbound_message_id: turn.last_message_id,
                    contents: request.contents.split_off(first_of_turn),
                    reply: text,
                    needs_attention: talk_to_human,
                });
                break;
            }
            let outcomes =
                try_join_all(generated.calls.iter().map(|call| tools::run(&party, call))).await?;
            talk_to_human |= outcomes.iter().any(|outcome| outcome.talk_to_human);
            let results: Vec<_> = generated
                .calls
                .into_iter()
                .zip(outcomes)
                .map(|(call, outcome)| (call, outcome.response))
                .collect();
            request.contents.push(Content::function_responses(&results));
        }
        let used: i64 = calls.iter().map(|call| call.usage.total_tokens).sum();
        let answer = match ending {
            Ending::Answered(answered) => {
                let answer = AssistantAnswer::Reply {
                    text: answered.reply.clone(),
                    needs_attention: answered.needs_attention,
                };
                let txn = db::begin_write(db).await?;
                repo::insert_usage(&txn, &calls, turn.now).await?;
                repo::insert_turn(&txn, answered, turn.now).await?;
                txn.commit().await?;
                answer
            }
            Ending::Failed(reason) => {
                repo::insert_usage(db, &calls, turn.now).await?;
                AssistantAnswer::Fallback { reason }
            }
        };
        // Concurrent turns of the tenant may have used more meanwhile: the next turn's own
        // count catches what this estimate misses.
        if let Some(quota) = quota
            && quota.used + used >= quota.limit
        {
            quota_reached(state, &tenant, month).await?;
        }
        Ok(answer)
    }

    async fn system_instruction(
        &self,
        state: &AppState,
        tenant: &Tenant,
        turn: &AssistantTurn,
    ) -> AppResult<String> {
        let db = &state.db;
        let today = prompt::today(tenant, turn.now);
        let (customer, subscription, services, schedule, upcoming) = futures_util::try_join!(
            customers::service::find(db, tenant.id, turn.customer_id),
            customers::service::active_for_customer(db, tenant.id, turn.customer_id),
            services::service::bookable(db, tenant.id),
            operating_hours::service::schedule(
                db,
                tenant.id,
                today,
                today + Duration::days(prompt::WEEK - 1)
            ),
            appointments::service::upcoming_for_customer(
                state,
                tenant.id,
                turn.customer_id,
                turn.now,
                UPCOMING_IN_PROMPT
            ),
        )?;
        let plan = match subscription {
            Some(subscription) => Some(
                plans::service::find(db, tenant.id, subscription.plan_id)
                    .await?
                    .name,
            ),
            None => None,
        };
        Ok(prompt::system_instruction(&Facts {
            tenant,
            customer: &customer,
            plan: plan.as_deref(),
            services: &services,
            schedule: &schedule,
            upcoming: &upcoming,
            now: turn.now,
        }))
    }

    /// The most recent whole turns within the budget, oldest first: a function call is never
    /// separated from its response, and the history always starts with a customer's message.
    async fn history(&self, state: &AppState, turn: &AssistantTurn) -> AppResult<Vec<Content>> {
        let recent = repo::recent_turns(
            &state.db,
            turn.tenant_id,
            turn.conversation_id,
            HISTORY_TURNS,
        )
        .await?;
        let mut budget = self.history_token_budget;
        let mut kept = Vec::new();
        for remembered in recent {
            budget -= i64::from(remembered.estimated_tokens);
            if budget < 0 {
                break;
            }
            kept.push(remembered.contents);
        }
        Ok(kept.into_iter().rev().flatten().collect())
    }
}

/// The plan's monthly token quota, and what the tenant had used of it when the turn began.
#[derive(Clone, Copy)]
struct Quota {
    limit: i64,
    used: i64,
}

/// Announces the quota reached in `month`, unless the tenant's row already says so.
async fn quota_reached(state: &AppState, tenant: &Tenant, month: BillingMonth) -> AppResult<()> {
    let month = month.to_string();
    if tenant.ai_quota_reached_month.as_deref() == Some(month.as_str()) {
        return Ok(());
    }
    tenants::service::ai_quota_reached(state, tenant.id, &month).await
}

fn reply(turn: RememberedTurn) -> AssistantAnswer {
    AssistantAnswer::Reply {
        text: turn.reply,
        needs_attention: turn.needs_attention,
    }
}

/// The answer without reasoning the model wrote out (`<reasoning>…</reasoning>`, or a fenced
/// `reasoning` block), trimmed.
pub fn strip_reasoning(text: &str) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let tag = rest.find("<reasoning>");
        let fence = rest.find("```reasoning");
        let (start, close, open_len) = match (tag, fence) {
            (Some(t), Some(f)) if f < t => (f, "```", "```reasoning".len()),
            (Some(t), _) => (t, "</reasoning>", "<reasoning>".len()),
            (None, Some(f)) => (f, "```", "```reasoning".len()),
            (None, None) => break,
        };
        kept.push_str(&rest[..start]);
        let after = &rest[start + open_len..];
        match after.find(close) {
            Some(end) => rest = &after[end + close.len()..],
            // An unclosed block hides everything after it.
            None => {
                rest = "";
                break;
            }
        }
    }
    kept.push_str(rest);
    kept.trim().to_owned()
}

/// A month's AI usage, with its estimated cost.
pub struct UsageReport {
    pub month: BillingMonth,
    pub tenant: Tenant,
    pub summary: UsageSummary,
    /// Millionths of `currency`.
    pub cost_micros: i128,
    pub currency: String,
    /// The tenant's plan quota for the month (`None`: unlimited).
    pub quota: Option<i64>,
}

fn month_or_current(
    month: Option<&str>,
    tenant: Option<&Tenant>,
    now: DateTime<Utc>,
) -> AppResult<BillingMonth> {
    match month {
        Some(month) => BillingMonth::parse(month),
        None => Ok(BillingMonth::of(
            now,
            &tenant.map_or(crate::kernel::values::TimeZone::DEFAULT, |t| t.time_zone),
        )),
    }
}

fn report(
    state: &AppState,
    month: BillingMonth,
    tenant: Tenant,
    summary: UsageSummary,
    quota: Option<i64>,
) -> UsageReport {
    let ai = &state.settings.ai;
    UsageReport {
        month,
        tenant,
        cost_micros: summary.cost_micros(ai.input_price_micros, ai.output_price_micros),
        currency: ai.price_currency.clone(),
        summary,
        quota,
    }
}

/// The viewer's tenant's usage in `month` (default: the current month in its zone).
pub async fn usage(
    state: &AppState,
    viewer: &Viewer,
    month: Option<&str>,
) -> AppResult<UsageReport> {
    let tenant = tenants::service::find(&state.db, viewer.tenant()?).await?;
    let month = month_or_current(month, Some(&tenant), state.clock.now())?;
    let (summary, plan) = futures_util::try_join!(
        async { Ok::<_, AppError>(repo::month_summary(&state.db, tenant.id, month).await?) },
        saas_plans::service::find(&state.db, tenant.saas_plan_id),
    )?;
    Ok(report(
        state,
        month,
        tenant,
        summary,
        plan.ai_monthly_token_quota,
    ))
}

/// ADMIN: every tenant's usage in `month` (default: the current month in São Paulo), most tokens
/// first; tenants that used nothing are left out. Three statements whatever the number of tenants.
pub async fn usage_by_tenant(
    state: &AppState,
    viewer: &Viewer,
    month: Option<&str>,
) -> AppResult<Vec<UsageReport>> {
    viewer.require_admin()?;
    let month = month_or_current(month, None, state.clock.now())?;
    let summaries = repo::month_summary_by_tenant(&state.db, month).await?;
    let ids: Vec<_> = summaries.keys().copied().collect();
    let tenants = tenants::service::find_many(&state.db, &ids).await?;
    let plan_ids: Vec<_> = tenants.values().map(|t| t.saas_plan_id).collect();
    let plans = saas_plans::service::find_many(&state.db, &plan_ids).await?;
    let mut reports: Vec<UsageReport> = summaries
        .into_iter()
        .filter_map(|(id, summary)| {
            let tenant = tenants.get(&id)?.clone();
            let quota = plans
                .get(&tenant.saas_plan_id)
                .and_then(|plan| plan.ai_monthly_token_quota);
            Some(report(state, month, tenant, summary, quota))
        })
        .collect();
    reports.sort_by(|a, b| {
        b.summary
            .total_tokens
            .cmp(&a.summary.total_tokens)
            .then_with(|| a.tenant.name.cmp(&b.tenant.name))
    });
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_never_reaches_the_customer() {
        assert_eq!(
            strip_reasoning("<reasoning>pensar</reasoning>\nOlá! Temos 10:00."),
            "Olá! Temos 10:00."
        );
        assert_eq!(
            strip_reasoning("Oi\n```reasoning\nx\n```\nTudo bem?"),
            "Oi\n\nTudo bem?"
        );
        assert_eq!(strip_reasoning("Antes <reasoning>sem fim"), "Antes");
        assert_eq!(strip_reasoning("  Só texto  "), "Só texto");
    }
}
