//! GraphQL surface of services.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use super::{
    model::{ListingChanges, Service},
    service::{self, NewService, ServiceChanges},
};
use crate::{
    graphql::{
        scalars::Timestamp,
        scalars::{Money, MoneyInput},
        viewer::{state, viewer},
    },
    kernel::ids::{ServiceId, TypedId},
    tenant_loader,
};

tenant_loader!(
    /// Loads services.
    ServiceLoader: ServiceId => Service, service::find_many
);

pub struct ServiceNode(pub Service);

/// Something the business sells and customers book: a haircut, a massage, a consultation.
#[Object(name = "Service")]
impl ServiceNode {
    /// The service's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Name shown to customers.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Optional longer text shown to customers.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Price of one appointment.
    async fn price(&self) -> Money {
        self.0.price.into()
    }

    /// How long an appointment takes, in minutes (5 to 720).
    async fn duration_minutes(&self) -> i32 {
        self.0.duration_minutes
    }

    /// Whether customers can book it now.
    async fn active(&self) -> bool {
        self.0.active
    }

    /// Whether the service was archived (inactive and hidden from lists, kept for history).
    async fn archived(&self) -> bool {
        self.0.archived_at.is_some()
    }

    /// When the service was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp::from(self.0.created_at)
    }

    /// When the service last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp::from(self.0.updated_at)
    }
}

/// Input of `createService`.
#[derive(InputObject)]
pub struct CreateServiceInput {
    /// 1 to 120 characters.
    pub name: String,
    /// Optional longer text, up to 2000 characters.
    pub description: Option<String>,
    /// Price of one appointment, zero or more.
    pub price: MoneyInput,
    /// 5 to 720 minutes.
    pub duration_minutes: i32,
}

/// Input of `updateService`: omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateServiceInput {
    /// 1 to 120 characters.
    pub name: Option<String>,
    /// Null clears the description.
    pub description: MaybeUndefined<String>,
    /// Zero or more.
    pub price: Option<MoneyInput>,
    /// 5 to 720 minutes.
    pub duration_minutes: Option<i32>,
    /// Whether customers can book it; an archived service cannot be reactivated.
    pub active: Option<bool>,
}

#[derive(Default)]
pub struct ServiceQuery;

#[Object]
impl ServiceQuery {
    /// The caller's services that are not archived, by name; inactive ones only when asked.
    async fn services(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false, desc = "Also list inactive services.")] include_inactive: bool,
    ) -> async_graphql::Result<Vec<ServiceNode>> {
        let viewer = viewer(ctx)?;
        Ok(service::list(state(ctx), &viewer, include_inactive)
            .await?
            .into_iter()
            .map(ServiceNode)
            .collect())
    }

    /// One of the caller's services, archived or not. Null (with the error) when it does not exist, so one lookup does not null the whole answer.
    async fn service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The service's id.")] id: ID,
    ) -> async_graphql::Result<Option<ServiceNode>> {
        let tenant = viewer(ctx)?.tenant()?;
        Ok(Some(ServiceNode(
            service::find(&state(ctx).db, tenant, ServiceId::parse(&id)?).await?,
        )))
    }
}

#[derive(Default)]
pub struct ServiceMutation;

#[Object]
impl ServiceMutation {
    /// Creates an active service.
    async fn create_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new service.")] input: CreateServiceInput,
    ) -> async_graphql::Result<ServiceNode> {
        let viewer = viewer(ctx)?;
        let new = NewService {
            name: input.name,
            description: input.description,
            price: input.price.cents(),
            duration_minutes: input.duration_minutes,
        };
        Ok(ServiceNode(
            service::create(state(ctx), &viewer, new).await?,
        ))
    }

    /// Changes a service.
    async fn update_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The service to change.")] id: ID,
        #[graphql(desc = "The changes; omitted fields stay as they are.")]
        input: UpdateServiceInput,
    ) -> async_graphql::Result<ServiceNode> {
        let viewer = viewer(ctx)?;
        let changes = ServiceChanges {
            listing: ListingChanges {
                name: input.name,
                description: input.description.into(),
                price: input.price.map(|p| p.cents()),
            },
            duration_minutes: input.duration_minutes,
            active: input.active,
        };
        Ok(ServiceNode(
            service::update(state(ctx), &viewer, ServiceId::parse(&id)?, changes).await?,
        ))
    }

    /// Archives a service (inactive, hidden from lists, never deleted: appointments reference
    /// it). Archiving twice is a no-op.
    async fn archive_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The service to archive.")] id: ID,
    ) -> async_graphql::Result<ServiceNode> {
        let viewer = viewer(ctx)?;
        Ok(ServiceNode(
            service::archive(state(ctx), &viewer, ServiceId::parse(&id)?).await?,
        ))
    }
}
