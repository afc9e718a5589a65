//! Background work: the queue with its transactional outbox ([`queue`]) and the worker that runs
//! jobs and crons ([`worker`]). Neither imports a domain; `app` lists the jobs and crons.

pub mod queue;
pub mod worker;

pub use queue::{
    HOLD, Held, Job, JobStore, Jobs, enqueue, enqueue_held, insert_new_with_job,
    insert_with_held_job, insert_with_job,
};
pub use worker::{CronJob, CronKind, HasJobs, JobKind, PurgeFinishedJobs};
