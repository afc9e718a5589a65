//! The only queries on `notification_settings` and `notifications`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::{notification_settings, notifications};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    TryInsertResult, sea_query::OnConflict,
};
use uuid::Uuid;

use super::model::{NoticeKind, NoticeSetting};
use crate::kernel::{
    error::AppResult,
    ids::{AppointmentId, TenantId},
    values::EnumStr,
};

/// The tenant's stored settings (kinds never changed have no row).
pub async fn settings(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> AppResult<Vec<NoticeSetting>> {
    notification_settings::Entity::find()
        .filter(notification_settings::Column::TenantId.eq(tenant.0))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| {
            Ok(NoticeSetting {
                kind: NoticeKind::parse_stored(&row.kind)?,
                enabled: row.enabled,
                template_name: row.template_name,
                template_language: row.template_language,
            })
        })
        .collect()
}

pub async fn save_setting(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    setting: &NoticeSetting,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    notification_settings::Entity::insert(notification_settings::ActiveModel {
        tenant_id: Set(tenant.0),
        kind: Set(setting.kind.as_str().to_owned()),
        enabled: Set(setting.enabled),
        template_name: Set(setting.template_name.clone()),
        template_language: Set(setting.template_language.clone()),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            notification_settings::Column::TenantId,
            notification_settings::Column::Kind,
        ])
        .update_columns([
            notification_settings::Column::Enabled,
            notification_settings::Column::TemplateName,
            notification_settings::Column::TemplateLanguage,
            notification_settings::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Records the notice (`appointment`, `kind`, `key`) as sent; false when it was already.
pub async fn claim(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    appointment: AppointmentId,
    kind: NoticeKind,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let inserted = notifications::Entity::insert(notifications::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        appointment_id: Set(appointment.0),
        kind: Set(kind.as_str().to_owned()),
        key: Set(key.to_owned()),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        notifications::Column::AppointmentId,
        notifications::Column::Kind,
        notifications::Column::Key,
    ])
    .exec(conn)
    .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(_)))
}

/// Which of `appointments` already had a `kind` notice.
pub async fn sent(
    conn: &impl ConnectionTrait,
    appointments: &[AppointmentId],
    kind: NoticeKind,
) -> Result<HashSet<AppointmentId>, DbErr> {
    let ids: Vec<Uuid> = notifications::Entity::find()
        .select_only()
        .column(notifications::Column::AppointmentId)
        .filter(notifications::Column::Kind.eq(kind.as_str()))
        .filter(notifications::Column::AppointmentId.is_in(appointments.iter().map(|a| a.0)))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(ids.into_iter().map(AppointmentId).collect())
}
