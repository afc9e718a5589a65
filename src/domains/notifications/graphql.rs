//! GraphQL surface of customer notices: each kind's switch and template.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject};

use super::{
    model::{NoticeKind, NoticeSetting},
    service::{self, SettingChange},
};
use crate::graphql::viewer::{state, viewer};

/// How the business tells its customers of one kind of event on WhatsApp.
#[derive(SimpleObject)]
#[graphql(name = "NotificationSetting")]
pub struct NotificationSettingNode {
    /// The kind of notice.
    pub kind: NoticeKind,
    /// Whether it is sent (default true).
    pub enabled: bool,
    /// The approved template sent outside WhatsApp's 24-hour window, with the customer's name,
    /// the service and the date and time as its three body parameters; without one, such a
    /// notice is recorded SKIPPED.
    pub template_name: Option<String>,
    /// The template's language (default `pt_BR`).
    pub template_language: String,
}

impl From<NoticeSetting> for NotificationSettingNode {
    fn from(setting: NoticeSetting) -> Self {
        Self {
            kind: setting.kind,
            enabled: setting.enabled,
            template_name: setting.template_name,
            template_language: setting.template_language,
        }
    }
}

/// Input of `updateNotificationSetting`: omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateNotificationSettingInput {
    /// The kind to change.
    pub kind: NoticeKind,
    /// Whether it is sent.
    pub enabled: Option<bool>,
    /// The template's name; null clears it.
    pub template_name: MaybeUndefined<String>,
    /// The template's language code, such as `pt_BR`.
    pub template_language: Option<String>,
}

#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// How the caller's customers are told of bookings, changes and approaching appointments,
    /// one setting per kind.
    async fn notification_settings(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<NotificationSettingNode>> {
        let viewer = viewer(ctx)?;
        Ok(service::settings(state(ctx), &viewer)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Switches a kind of notice on or off, or sets its template.
    async fn update_notification_setting(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The kind and what changes.")] input: UpdateNotificationSettingInput,
    ) -> async_graphql::Result<NotificationSettingNode> {
        let viewer = viewer(ctx)?;
        let change = SettingChange {
            kind: input.kind,
            enabled: input.enabled,
            template_name: input.template_name.into(),
            template_language: input.template_language,
        };
        Ok(service::update_setting(state(ctx), &viewer, change)
            .await?
            .into())
    }
}
