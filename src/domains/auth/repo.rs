//! Queries for `users`, `refresh_tokens`, `login_codes`, `oauth_states` and
//! `email_verifications`. Single-use records are consumed with conditional updates, so two
//! concurrent requests can never both use the same token or code.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{email_verifications, login_codes, oauth_states, refresh_tokens, tenants, users};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ExprTrait, FromQueryResult, JoinType,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationDef,
    sea_query::{Expr, Query},
};
use uuid::Uuid;

use super::model::{EmailVerification, NewUser, PendingSignIn, RefreshToken, User, UserUpdate};
use crate::{
    db::set_some,
    domains::tenants::model::Tenant,
    kernel::{
        error::AppResult,
        ids::{TenantId, UserId},
        values::EnumStr,
    },
};

pub async fn find_user(conn: &impl ConnectionTrait, id: UserId) -> AppResult<Option<User>> {
    users::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .map(User::try_from)
        .transpose()
}

/// The users among `ids` who belong to `tenant`.
pub async fn find_members(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[UserId],
) -> AppResult<HashMap<UserId, User>> {
    users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant.0))
        .filter(users::Column::Id.is_in(ids.iter().map(|id| id.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| Ok((UserId(row.id), User::try_from(row)?)))
        .collect()
}

/// Who a token speaks for, as read on every authenticated request.
pub struct SignedIn {
    pub user: User,
    /// The user's tenant, read in the same statement so resolvers need not read it again.
    pub tenant: Option<Tenant>,
    /// Whether the token's session (its refresh-token family) was revoked: logout or reuse.
    pub session_revoked: bool,
}

/// The user, their tenant and whether the session `sid` has been revoked, in one statement: it
/// runs on every authenticated request.
pub async fn find_signed_in(
    conn: &impl ConnectionTrait,
    id: UserId,
    sid: Option<Uuid>,
) -> AppResult<Option<SignedIn>> {
    let revoked = match sid {
        Some(family) => Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(refresh_tokens::Entity)
                .and_where(refresh_tokens::Column::FamilyId.eq(family))
                .and_where(refresh_tokens::Column::RevokedAt.is_not_null())
                .to_owned(),
        ),
        None => Expr::val(false),
    };
    let to_tenant: RelationDef = users::Entity::belongs_to(tenants::Entity)
        .from(users::Column::TenantId)
        .to(tenants::Column::Id)
        .into();
    let statement = users::Entity::find_by_id(id.0)
        .select_also(tenants::Entity)
        .join(JoinType::LeftJoin, to_tenant)
        .column_as(revoked, "session_revoked")
        .build(conn.get_database_backend());
    let Some(row) = conn.query_one_raw(statement).await? else {
        return Ok(None);
    };
    // `select_also` prefixes the first entity's columns with `A_` and the second's with `B_`.
    let user = User::try_from(users::Model::from_query_result(&row, "A_")?)?;
    let tenant = tenants::Model::from_query_result_optional(&row, "B_")?
        .map(Tenant::try_from)
        .transpose()?;
    Ok(Some(SignedIn {
        user,
        tenant,
        session_revoked: row.try_get::<bool>("", "session_revoked")?,
    }))
}

/// The user with this (normalised) e-mail, and their password hash.
pub async fn find_user_by_email(
    conn: &impl ConnectionTrait,
    email: &str,
) -> AppResult<Option<(User, Option<String>)>> {
    users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .one(conn)
        .await?
        .map(|m| {
            let hash = m.password_hash.clone();
            Ok((User::try_from(m)?, hash))
        })
        .transpose()
}

pub async fn find_user_by_google_sub(
    conn: &impl ConnectionTrait,
    sub: &str,
) -> AppResult<Option<User>> {
    users::Entity::find()
        .filter(users::Column::GoogleSub.eq(sub))
        .one(conn)
        .await?
        .map(User::try_from)
        .transpose()
}

pub async fn insert_user(
    conn: &impl ConnectionTrait,
    user: NewUser,
    now: DateTime<Utc>,
) -> AppResult<User> {
    users::Entity::insert(users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(user.email),
        password_hash: Set(user.password_hash),
        role: Set(user.role.as_str().to_owned()),
        name: Set(user.name),
        avatar_url: Set(user.avatar_url),
        google_sub: Set(user.google_sub),
        email_verified: Set(user.email_verified),
        is_active: Set(true),
        tenant_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await?
    .try_into()
}

/// Writes `changes` to user `id` and returns the row as stored.
pub async fn update_user(
    conn: &impl ConnectionTrait,
    id: UserId,
    changes: UserUpdate,
) -> AppResult<User> {
    let mut row = users::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id.0),
        updated_at: Set(changes.updated_at),
        ..Default::default()
    };
    set_some(&mut row.password_hash, changes.password_hash.map(Some));
    set_some(
        &mut row.role,
        changes.role.map(|role| role.as_str().to_owned()),
    );
    set_some(&mut row.name, changes.name);
    set_some(&mut row.avatar_url, changes.avatar_url);
    set_some(&mut row.google_sub, changes.google_sub.map(Some));
    set_some(&mut row.email_verified, changes.email_verified);
    set_some(&mut row.is_active, changes.is_active);
    users::Entity::update(row).exec(conn).await?.try_into()
}

/// Links a user without a tenant to `tenant`; false when the user already had one.
pub async fn link_user_to_tenant(
    conn: &impl ConnectionTrait,
    user: UserId,
    tenant: TenantId,
) -> Result<bool, DbErr> {
    let result = users::Entity::update_many()
        .col_expr(users::Column::TenantId, Expr::value(tenant.0))
        .col_expr(users::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(users::Column::Id.eq(user.0))
        .filter(users::Column::TenantId.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn insert_refresh_token(
    conn: &impl ConnectionTrait,
    user: UserId,
    family: Uuid,
    token_hash: String,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    refresh_tokens::Entity::insert(refresh_tokens::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.0),
        family_id: Set(family),
        token_hash: Set(token_hash),
        expires_at: Set(expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

pub async fn find_refresh_token(
    conn: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<RefreshToken>, DbErr> {
    Ok(refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(token_hash))
        .one(conn)
        .await?
        .map(RefreshToken::from))
}

/// Marks a live token used; false if it was already used or revoked (a replay).
pub async fn use_refresh_token(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::UsedAt, Expr::value(now))
        .filter(refresh_tokens::Column::Id.eq(id))
        .filter(refresh_tokens::Column::UsedAt.is_null())
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn revoke_refresh_family(conn: &impl ConnectionTrait, family: Uuid) -> Result<(), DbErr> {
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_tokens::Column::FamilyId.eq(family))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Revokes every live refresh token of the user: all their sessions end.
pub async fn revoke_user_sessions(conn: &impl ConnectionTrait, user: UserId) -> Result<(), DbErr> {
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_tokens::Column::UserId.eq(user.0))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn insert_login_code(
    conn: &impl ConnectionTrait,
    user: UserId,
    code_hash: String,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    login_codes::Entity::insert(login_codes::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.0),
        code_hash: Set(code_hash),
        expires_at: Set(expires_at),
        used_at: Set(None),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Consumes a live login code and returns its user; `None` if unknown, expired or already used.
pub async fn consume_login_code(
    conn: &impl ConnectionTrait,
    code_hash: &str,
) -> Result<Option<UserId>, DbErr> {
    let now = Utc::now();
    let Some(code) = login_codes::Entity::find()
        .filter(login_codes::Column::CodeHash.eq(code_hash))
        .filter(login_codes::Column::ExpiresAt.gt(now))
        .filter(login_codes::Column::UsedAt.is_null())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let result = login_codes::Entity::update_many()
        .col_expr(login_codes::Column::UsedAt, Expr::value(now))
        .filter(login_codes::Column::Id.eq(code.id))
        .filter(login_codes::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok((result.rows_affected == 1).then_some(UserId(code.user_id)))
}

pub async fn insert_oauth_state(
    conn: &impl ConnectionTrait,
    state_hash: String,
    nonce: String,
    code_verifier: String,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    oauth_states::Entity::insert(oauth_states::ActiveModel {
        id: Set(Uuid::now_v7()),
        state_hash: Set(state_hash),
        nonce: Set(nonce),
        code_verifier: Set(code_verifier),
        expires_at: Set(expires_at),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Takes (deletes and returns) a live OAuth state; `None` if unknown, expired or already taken.
pub async fn take_oauth_state(
    conn: &impl ConnectionTrait,
    state_hash: &str,
) -> Result<Option<PendingSignIn>, DbErr> {
    let Some(state) = oauth_states::Entity::find()
        .filter(oauth_states::Column::StateHash.eq(state_hash))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let deleted = oauth_states::Entity::delete_by_id(state.id)
        .exec(conn)
        .await?;
    Ok(
        (deleted.rows_affected == 1 && state.expires_at > Utc::now()).then_some(PendingSignIn {
            nonce: state.nonce,
            code_verifier: state.code_verifier,
        }),
    )
}

/// Removes expired single-use records (housekeeping; safe to run anywhere, any time).
pub async fn delete_expired(conn: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let mut removed = 0;
    removed += oauth_states::Entity::delete_many()
        .filter(oauth_states::Column::ExpiresAt.lt(now))
        .exec(conn)
        .await?
        .rows_affected;
    removed += login_codes::Entity::delete_many()
        .filter(login_codes::Column::ExpiresAt.lt(now))
        .exec(conn)
        .await?
        .rows_affected;
    removed += refresh_tokens::Entity::delete_many()
        .filter(refresh_tokens::Column::ExpiresAt.lt(now))
        .exec(conn)
        .await?
        .rows_affected;
    Ok(removed)
}

/// Replaces any pending code of the user with a new one.
pub async fn replace_email_verification(
    conn: &impl ConnectionTrait,
    user: UserId,
    code_hash: String,
    code_enc: String,
    expires_at: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    email_verifications::Entity::delete_many()
        .filter(email_verifications::Column::UserId.eq(user.0))
        .exec(conn)
        .await?;
    let id = Uuid::now_v7();
    email_verifications::Entity::insert(email_verifications::ActiveModel {
        id: Set(id),
        user_id: Set(user.0),
        code_hash: Set(code_hash),
        code_enc: Set(code_enc),
        attempts: Set(0),
        expires_at: Set(expires_at),
        consumed_at: Set(None),
        sent_at: Set(None),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(id)
}

pub async fn find_email_verification(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<EmailVerification>, DbErr> {
    Ok(email_verifications::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(EmailVerification::from))
}

pub async fn find_pending_email_verification(
    conn: &impl ConnectionTrait,
    user: UserId,
) -> Result<Option<EmailVerification>, DbErr> {
    Ok(email_verifications::Entity::find()
        .filter(email_verifications::Column::UserId.eq(user.0))
        .filter(email_verifications::Column::ConsumedAt.is_null())
        .order_by_desc(email_verifications::Column::CreatedAt)
        .one(conn)
        .await?
        .map(EmailVerification::from))
}

/// Counts one failed attempt; returns the attempts made so far (atomic increment).
/// Counts one attempt at the code, only while it is unconsumed and below `max_attempts`: the
/// increment and the check are one statement, so concurrent attempts can never evaluate more than
/// `max_attempts` codes. False when no attempt is left.
pub async fn claim_email_verification_attempt(
    conn: &impl ConnectionTrait,
    id: Uuid,
    max_attempts: i32,
) -> Result<bool, DbErr> {
    let result = email_verifications::Entity::update_many()
        .col_expr(
            email_verifications::Column::Attempts,
            Expr::col(email_verifications::Column::Attempts).add(1),
        )
        .filter(email_verifications::Column::Id.eq(id))
        .filter(email_verifications::Column::ConsumedAt.is_null())
        .filter(email_verifications::Column::Attempts.lt(max_attempts))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Consumes a code whose attempt was claimed; false if someone else consumed it first.
pub async fn consume_email_verification(
    conn: &impl ConnectionTrait,
    id: Uuid,
    max_attempts: i32,
) -> Result<bool, DbErr> {
    let result = email_verifications::Entity::update_many()
        .col_expr(
            email_verifications::Column::ConsumedAt,
            Expr::value(Utc::now()),
        )
        .filter(email_verifications::Column::Id.eq(id))
        .filter(email_verifications::Column::ConsumedAt.is_null())
        .filter(email_verifications::Column::Attempts.lte(max_attempts))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn mark_email_verification_sent(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<(), DbErr> {
    email_verifications::Entity::update_many()
        .col_expr(email_verifications::Column::SentAt, Expr::value(Utc::now()))
        .filter(email_verifications::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn mark_email_verified(conn: &impl ConnectionTrait, user: UserId) -> Result<(), DbErr> {
    users::Entity::update_many()
        .col_expr(users::Column::EmailVerified, Expr::value(true))
        .col_expr(users::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(users::Column::Id.eq(user.0))
        .exec(conn)
        .await?;
    Ok(())
}
