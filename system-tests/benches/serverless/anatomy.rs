//! Where an order's time goes, read from its workflow history.
//!
//! Every task the server hands out leaves three timestamps: scheduled (the server has the task),
//! started (a worker's poll received it) and completed (the worker reported back). The gaps split
//! an order's run into *queue* time (scheduled → started: matching, i.e. how long a task waited
//! for a poll) and *work* time (started → completed: the worker), for workflow tasks (sticky and
//! normal queue apart) and activity tasks. What is left of start → close is the server between a
//! completion and the next schedule (normally 0: both are written in one transaction).
//!
//! Comparing these sums for a fresh and a long-lived worker says whether a slowdown is in the
//! worker, in matching, or in the server — the evidence issue 14 asks for.

use std::time::{Duration, SystemTime};

use devstack::bench::Samples;
use temporalio_client::{Client, WorkflowFetchHistoryOptions};
use temporalio_common::protos::temporal::api::enums::v1::TaskQueueKind;
use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

use super::event_time;

/// One order's run split by where the time went.
#[derive(Debug, Default, Clone, Copy)]
pub struct Anatomy {
    /// Workflow start → workflow close, as the server recorded them.
    pub total: Duration,
    /// Workflow tasks waiting on the normal queue (the first task of every workflow).
    pub wft_queue_normal: Duration,
    /// Workflow tasks waiting on a worker's sticky queue (every later one, while cached).
    pub wft_queue_sticky: Duration,
    pub wft_work: Duration,
    pub activity_queue: Duration,
    pub activity_work: Duration,
    pub workflow_tasks: u32,
    pub activity_tasks: u32,
    /// Tasks (of either kind) that waited [`SLOW_DISPATCH`] or more between scheduled and
    /// started: not handed to a waiting poll, but stored and read back (matching's backlog).
    pub slow_dispatches: u32,
}

/// A task that waited this long was not matched to a waiting poll at once.
pub const SLOW_DISPATCH: Duration = Duration::from_millis(10);

impl Anatomy {
    /// What is not queue or work time: the server between tasks.
    pub fn server(&self) -> Duration {
        self.total
            .saturating_sub(self.wft_queue_normal + self.wft_queue_sticky + self.wft_work)
            .saturating_sub(self.activity_queue + self.activity_work)
    }

    /// Splits a closed workflow's history.
    pub fn of(events: &[HistoryEvent]) -> Anatomy {
        let mut a = Anatomy::default();
        let gap = |from: Option<SystemTime>, to: Option<SystemTime>| match (from, to) {
            (Some(from), Some(to)) => to.duration_since(from).unwrap_or_default(),
            _ => Duration::ZERO,
        };
        // The event a started/completed event refers to (its scheduled or started event).
        let by_id = |id: i64| events.iter().find(|e| e.event_id == id);
        let time_of = |id: i64| by_id(id).and_then(event_time);
        let sticky = |scheduled: &HistoryEvent| {
            matches!(
                &scheduled.attributes,
                Some(Attributes::WorkflowTaskScheduledEventAttributes(s))
                    if s.task_queue.as_ref().is_some_and(|q| q.kind == TaskQueueKind::Sticky as i32)
            )
        };
        for event in events {
            let at = event_time(event);
            match &event.attributes {
                Some(Attributes::WorkflowTaskStartedEventAttributes(s)) => {
                    a.workflow_tasks += 1;
                    let scheduled = by_id(s.scheduled_event_id);
                    let queued = gap(scheduled.and_then(event_time), at);
                    a.slow_dispatches += u32::from(queued >= SLOW_DISPATCH);
                    if scheduled.is_some_and(sticky) {
                        a.wft_queue_sticky += queued;
                    } else {
                        a.wft_queue_normal += queued;
                    }
                }
                Some(Attributes::WorkflowTaskCompletedEventAttributes(c)) => {
                    a.wft_work += gap(time_of(c.started_event_id), at);
                }
                Some(Attributes::ActivityTaskStartedEventAttributes(s)) => {
                    a.activity_tasks += 1;
                    let queued = gap(time_of(s.scheduled_event_id), at);
                    a.slow_dispatches += u32::from(queued >= SLOW_DISPATCH);
                    a.activity_queue += queued;
                }
                Some(Attributes::ActivityTaskCompletedEventAttributes(c)) => {
                    a.activity_work += gap(time_of(c.started_event_id), at);
                }
                _ => {}
            }
        }
        a.total = gap(
            events.first().and_then(event_time),
            events.last().and_then(event_time),
        );
        a
    }

    pub async fn fetch(client: &Client, workflow_id: &str) -> Anatomy {
        let events = shared::orders::handle(client, workflow_id)
            .fetch_history(WorkflowFetchHistoryOptions::default())
            .into_events()
            .await
            .expect("history");
        Anatomy::of(&events)
    }
}

/// The anatomies of several orders, one distribution per part.
#[derive(Debug, Default)]
pub struct Anatomies(pub Vec<Anatomy>);

impl Anatomies {
    pub fn push(&mut self, a: Anatomy) {
        self.0.push(a);
    }

    /// `(label, samples)` for each part, in the order a reader follows an order.
    pub fn parts(&self) -> Vec<(&'static str, Samples)> {
        let part = |f: fn(&Anatomy) -> Duration| Samples(self.0.iter().map(f).collect());
        vec![
            ("server: start → close", part(|a| a.total)),
            (
                "workflow tasks queued, normal queue",
                part(|a| a.wft_queue_normal),
            ),
            (
                "workflow tasks queued, sticky queue",
                part(|a| a.wft_queue_sticky),
            ),
            ("workflow tasks, worker", part(|a| a.wft_work)),
            ("activity tasks queued", part(|a| a.activity_queue)),
            ("activity tasks, worker", part(|a| a.activity_work)),
            ("server between tasks", part(Anatomy::server)),
        ]
    }

    /// `slow / all` tasks over every order: how often a task was not matched at once.
    pub fn slow_dispatch_share(&self) -> (u32, u32) {
        self.0.iter().fold((0, 0), |(slow, all), a| {
            (
                slow + a.slow_dispatches,
                all + a.workflow_tasks + a.activity_tasks,
            )
        })
    }
}
