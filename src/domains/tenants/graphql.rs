//! GraphQL surface of tenants.

use std::{borrow::Cow, sync::Arc};

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Subscription, Union};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use super::{
    model::{
        BotMode, MercadoPagoStatus, PaymentProvider, SaasStatus, Tenant, TenantChanged,
        WhatsAppStatus,
    },
    service::{self, Onboarding, TenantChanges, WhatsAppCredentials},
};
use crate::{
    domains::saas_plans::graphql::{SaasPlanLoader, SaasPlanNode},
    graphql::{
        loaders::loader,
        pagination::{Page, PageArgs, page},
        scalars::Timestamp,
        scalars::{Phone, Zone},
        viewer::{state, viewer},
    },
    kernel::{
        error::AppError,
        ids::{SaasPlanId, TenantId, TypedId},
        values::{E164Phone, TimeZone},
    },
};

/// Loads tenants by id. Only reached with ids the viewer may see (its own, or any for ADMIN).
pub struct TenantLoader(pub crate::state::AppState);

impl async_graphql::dataloader::Loader<TenantId> for TenantLoader {
    type Value = Tenant;
    type Error = std::sync::Arc<AppError>;

    async fn load(
        &self,
        keys: &[TenantId],
    ) -> Result<std::collections::HashMap<TenantId, Tenant>, Self::Error> {
        service::find_many(&self.0.db, keys)
            .await
            .map_err(std::sync::Arc::new)
    }
}

pub struct TenantNode(pub Tenant);

/// A business using the product.
#[Object(name = "Tenant")]
impl TenantNode {
    /// The tenant's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Business name shown to customers.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Business phone in E.164 (`+5511987654321`).
    async fn phone(&self) -> Phone {
        Phone(self.0.phone.clone())
    }

    /// Contact e-mail (the onboarding user's).
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// IANA time zone in which hours and dates are shown (default `America/Sao_Paulo`).
    async fn time_zone(&self) -> Zone {
        Zone(self.0.time_zone)
    }

    /// The SaaS plan the tenant subscribes to.
    async fn saas_plan(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SaasPlanNode>> {
        Ok(loader::<SaasPlanLoader>(ctx)
            .load_one(self.0.saas_plan_id)
            .await
            .map_err(AppError::from)?
            .map(SaasPlanNode))
    }

    /// Where the tenant's SaaS subscription stands.
    async fn saas_status(&self) -> SaasStatus {
        self.0.saas_status
    }

    /// Next SaaS charge, when known.
    async fn saas_next_billing(&self) -> Option<Timestamp> {
        self.0.saas_next_billing.map(Timestamp::from)
    }

    /// Whether the WhatsApp assistant answers customers.
    async fn ai_enabled(&self) -> bool {
        self.0.ai_enabled
    }

    /// Extra instructions appended to the assistant's prompt.
    async fn ai_custom_prompt(&self) -> Option<&str> {
        self.0.ai_custom_prompt.as_deref()
    }

    /// Whether the AI assistant books only for customers who gave an e-mail.
    async fn ai_require_email(&self) -> bool {
        self.0.ai_require_email
    }

    /// The month (`YYYY-MM`, the tenant's zone) in which the plan's AI token quota was last
    /// reached: for the rest of that month the guided menu answers instead of the AI.
    async fn ai_quota_reached_month(&self) -> Option<&str> {
        self.0.ai_quota_reached_month.as_deref()
    }

    /// Provider of customers' payment links, when chosen.
    async fn preferred_payment_provider(&self) -> Option<PaymentProvider> {
        self.0.preferred_payment_provider
    }

    /// InfinitePay handle (InfiniteTag), without the `$`.
    async fn infinite_pay_tag(&self) -> Option<&str> {
        self.0.infinite_pay_tag.as_deref()
    }

    /// Whether WhatsApp Cloud API credentials are stored (the token itself is never returned).
    async fn whatsapp_connected(&self) -> bool {
        self.0.whatsapp_connected
    }

    /// The WhatsApp phone number id messages arrive on, when connected.
    async fn whatsapp_phone_number_id(&self) -> Option<&str> {
        self.0.whatsapp_phone_number_id.as_deref()
    }

    /// Where the WhatsApp connection stands; TOKEN_INVALID asks the owner to connect again.
    async fn whatsapp_status(&self) -> WhatsAppStatus {
        self.0.whatsapp_status
    }

    /// The connected number as Meta displays it (e.g. `+55 11 91234-5678`).
    async fn whatsapp_display_phone_number(&self) -> Option<&str> {
        self.0.whatsapp_display_phone_number.as_deref()
    }

    /// The business name Meta verified for the connected number.
    async fn whatsapp_verified_name(&self) -> Option<&str> {
        self.0.whatsapp_verified_name.as_deref()
    }

    /// Meta's quality rating of the connected number (GREEN, YELLOW, RED, UNKNOWN).
    async fn whatsapp_quality_rating(&self) -> Option<&str> {
        self.0.whatsapp_quality_rating.as_deref()
    }

    /// Whether a Mercado Pago account is connected (tokens are never returned).
    async fn mercado_pago_connected(&self) -> bool {
        self.0.mercado_pago_connected
    }

    /// Where the Mercado Pago connection stands: CONNECTED, DISCONNECTED when Mercado Pago
    /// refused to renew it (connect again); null when never connected.
    async fn mercado_pago_status(&self) -> Option<MercadoPagoStatus> {
        self.0.mercado_pago_status
    }

    /// Whether a refunded or charged-back payment cancels its future booking (default true).
    async fn cancel_on_refund(&self) -> bool {
        self.0.cancel_on_refund
    }

    /// Minutes between offered start times (default 30).
    async fn slot_step_minutes(&self) -> i32 {
        self.0.scheduling.slot_step_minutes
    }

    /// Minimum notice for a booking, in minutes (default 60).
    async fn min_notice_minutes(&self) -> i32 {
        self.0.scheduling.min_notice_minutes
    }

    /// How many days ahead customers may book (default 60).
    async fn booking_horizon_days(&self) -> i32 {
        self.0.scheduling.booking_horizon_days
    }

    /// How long an unpaid PENDING booking holds its slot (default 60); null: bookings do not
    /// wait for payment.
    async fn unpaid_hold_minutes(&self) -> Option<i32> {
        self.0.scheduling.unpaid_hold_minutes
    }

    /// Who answers customers on WhatsApp (default MENU).
    async fn bot_mode(&self) -> BotMode {
        self.0.bot_mode
    }

    /// How many hours the bot stays quiet in a conversation after the business writes in it
    /// (1 to 168, default 12).
    async fn human_takeover_hours(&self) -> i32 {
        self.0.human_takeover_hours
    }

    /// When the tenant onboarded.
    async fn created_at(&self) -> Timestamp {
        Timestamp::from(self.0.created_at)
    }

    /// When the tenant's settings last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp::from(self.0.updated_at)
    }
}

/// Input of `onboardTenant`.
#[derive(InputObject)]
pub struct OnboardTenantInput {
    /// Business name.
    pub name: String,
    /// Business phone; Brazilian numbers in any common format.
    pub phone: String,
    /// The SaaS plan chosen.
    pub saas_plan_id: ID,
    /// IANA time zone; `America/Sao_Paulo` when omitted.
    pub time_zone: Option<String>,
}

/// Input of `updateTenant`: omitted fields stay as they are; null clears nullable ones.
#[derive(InputObject, Default)]
pub struct UpdateTenantInput {
    /// The business's name.
    pub name: Option<String>,
    /// Business phone; Brazilian numbers in any common format.
    pub phone: Option<String>,
    /// IANA time zone, e.g. `America/Sao_Paulo`.
    pub time_zone: Option<String>,
    /// Whether the AI assistant answers customers.
    pub ai_enabled: Option<bool>,
    /// Extra instructions for the AI assistant (up to 4000 characters); null clears them.
    pub ai_custom_prompt: MaybeUndefined<String>,
    /// Whether the AI assistant asks for an e-mail before booking (default false).
    pub ai_require_email: Option<bool>,
    /// Provider of customers' payment links; null clears it.
    pub preferred_payment_provider: MaybeUndefined<PaymentProvider>,
    /// InfinitePay handle (InfiniteTag) without the `$`; null clears it.
    pub infinite_pay_tag: MaybeUndefined<String>,
    /// 5 to 240.
    pub slot_step_minutes: Option<i32>,
    /// 0 to 10080.
    pub min_notice_minutes: Option<i32>,
    /// 1 to 365.
    pub booking_horizon_days: Option<i32>,
    /// 5 to 10080; null: bookings do not wait for payment.
    pub unpaid_hold_minutes: MaybeUndefined<i32>,
    /// Who answers customers on WhatsApp.
    pub bot_mode: Option<BotMode>,
    /// 1 to 168: how long the bot stays quiet after the business writes in a conversation.
    pub human_takeover_hours: Option<i32>,
    /// Whether a refunded or charged-back payment cancels its future booking.
    pub cancel_on_refund: Option<bool>,
}

/// Input of `connectWhatsApp`: the WhatsApp Cloud API account of the tenant.
#[derive(InputObject)]
pub struct ConnectWhatsAppInput {
    /// WhatsApp Business Account id.
    pub waba_id: String,
    /// Phone number id that receives the customers' messages.
    pub phone_number_id: String,
    /// System-user access token; stored encrypted and never returned. Optional where the
    /// platform has its own (`WABA_TOKEN`), which then speaks for the tenant.
    pub access_token: Option<String>,
}

/// The viewer's tenant, read with the viewer in the request's one authentication statement (the
/// HTTP layer attaches it); resolvers take it from [`viewer_tenant`] instead of reading again.
pub struct ViewerTenant(pub Tenant);

/// The viewer's tenant: the one read with the viewer when the request carries it, otherwise from
/// the database (WebSocket operations, whose viewer outlives a single read).
pub async fn viewer_tenant<'a>(ctx: &Context<'a>) -> async_graphql::Result<Cow<'a, Tenant>> {
    let viewer = viewer(ctx)?;
    match ctx.data_opt::<ViewerTenant>() {
        Some(ViewerTenant(tenant)) if Some(tenant.id) == viewer.tenant_id => {
            Ok(Cow::Borrowed(tenant))
        }
        _ => Ok(Cow::Owned(service::current(state(ctx), &viewer).await?)),
    }
}

#[derive(Default)]
pub struct TenantQuery;

#[Object]
impl TenantQuery {
    /// The signed-in user's tenant.
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<TenantNode> {
        Ok(TenantNode(viewer_tenant(ctx).await?.into_owned()))
    }

    /// ADMIN: a tenant by id. Null (with the error) when it does not exist, so one lookup does not null the whole answer.
    async fn tenant_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tenant's id.")] id: ID,
    ) -> async_graphql::Result<Option<TenantNode>> {
        let viewer = viewer(ctx)?;
        let id = TenantId::parse(&id)?;
        Ok(Some(TenantNode(
            service::find_for_admin(state(ctx), &viewer, id).await?,
        )))
    }

    /// ADMIN: every tenant, oldest first.
    async fn tenants(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last tenant of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<Page<TenantNode>> {
        let viewer = viewer(ctx)?;
        let args = PageArgs::parse(first, after)?;
        let (tenants, has_next, total) =
            service::list_for_admin(state(ctx), &viewer, args.after, args.first).await?;
        Ok(page(
            tenants
                .into_iter()
                .map(|t| (t.id.0, TenantNode(t)))
                .collect(),
            has_next,
            args.after.is_some(),
            total,
        ))
    }
}

#[derive(Default)]
pub struct TenantMutation;

#[Object]
impl TenantMutation {
    /// Creates the caller's business and links the caller to it. Requires a verified e-mail and
    /// no tenant yet; a phone or e-mail already in use is a CONFLICT.
    async fn onboard_tenant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The business: name, phone, SaaS plan and time zone.")]
        input: OnboardTenantInput,
    ) -> async_graphql::Result<TenantNode> {
        let viewer = viewer(ctx)?;
        let onboarding = Onboarding {
            name: input.name,
            phone: E164Phone::parse(&input.phone)?,
            saas_plan_id: SaasPlanId::parse(&input.saas_plan_id)?,
            time_zone: input
                .time_zone
                .as_deref()
                .map(TimeZone::parse)
                .transpose()?,
        };
        Ok(TenantNode(
            service::onboard(state(ctx), &viewer, onboarding).await?,
        ))
    }

    /// Changes the caller's tenant settings.
    async fn update_tenant(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The changes; omitted fields stay as they are, null clears a nullable one."
        )]
        input: UpdateTenantInput,
    ) -> async_graphql::Result<TenantNode> {
        let viewer = viewer(ctx)?;
        let changes = TenantChanges {
            name: input.name,
            phone: input.phone.as_deref().map(E164Phone::parse).transpose()?,
            time_zone: input
                .time_zone
                .as_deref()
                .map(TimeZone::parse)
                .transpose()?,
            ai_enabled: input.ai_enabled,
            ai_custom_prompt: input.ai_custom_prompt.into(),
            ai_require_email: input.ai_require_email,
            preferred_payment_provider: input.preferred_payment_provider.into(),
            infinite_pay_tag: input.infinite_pay_tag.into(),
            slot_step_minutes: input.slot_step_minutes,
            min_notice_minutes: input.min_notice_minutes,
            booking_horizon_days: input.booking_horizon_days,
            unpaid_hold_minutes: input.unpaid_hold_minutes.into(),
            bot_mode: input.bot_mode,
            human_takeover_hours: input.human_takeover_hours,
            cancel_on_refund: input.cancel_on_refund,
        };
        Ok(TenantNode(
            service::update(state(ctx), &viewer, changes).await?,
        ))
    }

    /// Checks the caller's WhatsApp Cloud API credentials with Meta, subscribes the app to the
    /// account's webhooks, and stores them (the token encrypted at rest). Credentials Meta
    /// refuses are BAD_USER_INPUT with Meta's message.
    async fn connect_whats_app(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The WhatsApp Cloud API credentials.")] input: ConnectWhatsAppInput,
    ) -> async_graphql::Result<TenantNode> {
        let viewer = viewer(ctx)?;
        let credentials = WhatsAppCredentials {
            waba_id: input.waba_id,
            phone_number_id: input.phone_number_id,
            access_token: input.access_token,
        };
        Ok(TenantNode(
            service::connect_whatsapp(state(ctx), &viewer, credentials).await?,
        ))
    }

    /// Forgets the caller's Mercado Pago account (its tokens are deleted); a preferred provider
    /// that was Mercado Pago is cleared.
    async fn disconnect_mercado_pago(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<TenantNode> {
        let viewer = viewer(ctx)?;
        Ok(TenantNode(
            service::disconnect_mercado_pago(state(ctx), &viewer).await?,
        ))
    }

    /// Removes the caller's WhatsApp credentials.
    async fn disconnect_whats_app(&self, ctx: &Context<'_>) -> async_graphql::Result<TenantNode> {
        let viewer = viewer(ctx)?;
        Ok(TenantNode(
            service::disconnect_whatsapp(state(ctx), &viewer).await?,
        ))
    }
}

pub struct TenantUpdated {
    tenant: Arc<Tenant>,
}

/// The tenant's settings changed.
#[Object]
impl TenantUpdated {
    /// The tenant as it is after the change.
    async fn tenant(&self) -> TenantNode {
        TenantNode(Tenant::clone(&self.tenant))
    }
}

/// A live event about the caller's tenant.
#[derive(Union)]
pub enum TenantEvent {
    TenantUpdated(TenantUpdated),
}

#[derive(Default)]
pub struct TenantSubscription;

#[Subscription]
impl TenantSubscription {
    /// Changes to the caller's tenant, from any instance of the server.
    async fn tenant_events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = TenantEvent> + use<>> {
        let viewer = viewer(ctx)?;
        let tenant_id = viewer.tenant()?;
        let state = state(ctx).clone();
        let events = BroadcastStream::new(state.broker.subscribe());
        Ok(events.filter_map(move |delivery| {
            let state = state.clone();
            async move {
                let delivery = delivery.ok()?;
                if delivery.event.tenant_id != Some(tenant_id) {
                    return None;
                }
                delivery.event.payload::<TenantChanged>()?;
                // Loaded once per instance, whatever the number of subscribers.
                let tenant = delivery
                    .shared(|| service::find(&state.db, tenant_id))
                    .await?;
                Some(TenantEvent::TenantUpdated(TenantUpdated { tenant }))
            }
        }))
    }
}
