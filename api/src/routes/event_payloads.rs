//! The documented shape of every event body, as OpenAPI components: one envelope per family of
//! types (`{"id", "type", "timestamp", "data"}`), its `type` limited to the family's words so
//! that exactly one member of the `oneOf` matches any body.

use chrono::{DateTime, Utc};
use longshore_jobs::documents::event_data::{CertificateBatchEventData, DocumentEventData};
use longshore_jobs::events::data::email::EmailEventData;
use longshore_jobs::events::data::endpoint::EndpointEventData;
use longshore_jobs::events::data::work::{JobEventData, TaskEventData};
use longshore_jobs::payments::event_data::{ExpenseEventData, PaymentEventData, PayoutEventData};
use longshore_jobs::reports::event_data::ReportEventData;
use std::borrow::Cow;

use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use poem_openapi::{Enum, Object, Union};

/// One family's envelope and the enum of its types.
macro_rules! family {
    ($(#[$doc:meta])* $envelope:ident, $kinds:ident { $($variant:ident => $word:literal),+ $(,)? }, $data:ty) => {
        #[doc = concat!("The types of [`", stringify!($envelope), "`].")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
        pub enum $kinds {
            $(#[oai(rename = $word)] $variant),+
        }

        $(#[$doc])*
        #[derive(Debug, Clone, Object)]
        pub struct $envelope {
            /// The event's id: also the `webhook-id` header of every delivery.
            pub id: String,
            #[oai(rename = "type")]
            pub kind: $kinds,
            /// When it happened.
            pub timestamp: DateTime<Utc>,
            pub data: $data,
        }
    };
}

family!(
    /// `email.*`: delivery outcomes, opens, clicks, unsubscribes and suppressions, in
    /// django-anymail's normalized vocabulary.
    EmailEvent,
    EmailEventType {
        Sent => "email.sent",
        Deferred => "email.deferred",
        Bounced => "email.bounced",
        Failed => "email.failed",
        Opened => "email.opened",
        Clicked => "email.clicked",
        Unsubscribed => "email.unsubscribed",
        Suppressed => "email.suppressed",
    },
    EmailEventData
);
family!(
    /// `document.*`: a PDF is ready, failed, or was revoked.
    DocumentEvent,
    DocumentEventType {
        Ready => "document.ready",
        Failed => "document.failed",
        Revoked => "document.revoked",
    },
    DocumentEventData
);
family!(
    /// `certificate_batch.completed`: every certificate of a batch is final.
    CertificateBatchEvent,
    CertificateBatchEventType {
        Completed => "certificate_batch.completed",
    },
    CertificateBatchEventData
);
family!(
    /// `payment.*`, as the ledger records the gateway's events.
    PaymentEvent,
    PaymentEventType {
        Succeeded => "payment.succeeded",
        Failed => "payment.failed",
        Refunded => "payment.refunded",
    },
    PaymentEventData
);
family!(
    /// `payout.*`, as the ledger records them.
    PayoutEvent,
    PayoutEventType {
        Paid => "payout.paid",
        Failed => "payout.failed",
    },
    PayoutEventData
);
family!(
    /// `expense.recorded`.
    ExpenseEvent,
    ExpenseEventType {
        Recorded => "expense.recorded",
    },
    ExpenseEventData
);
family!(
    /// `report.*`: a report's files are stored, or it failed.
    ReportEvent,
    ReportEventType {
        Ready => "report.ready",
        Failed => "report.failed",
    },
    ReportEventData
);
family!(
    /// `job.dead`: a job ended dead.
    JobEvent,
    JobEventType {
        Dead => "job.dead",
    },
    JobEventData
);
family!(
    /// `task.dead`: an HTTP task ended dead.
    TaskEvent,
    TaskEventType {
        Dead => "task.dead",
    },
    TaskEventData
);
family!(
    /// `endpoint.disabled`: one of the tenant's event endpoints was disabled.
    EndpointEvent,
    EndpointEventType {
        Disabled => "endpoint.disabled",
    },
    EndpointEventData
);

/// The body of an event, as every endpoint receives it.
#[derive(Debug, Clone, Union)]
#[oai(one_of)]
pub enum EventPayload {
    Email(EmailEvent),
    Document(DocumentEvent),
    CertificateBatch(CertificateBatchEvent),
    Payment(PaymentEvent),
    Payout(PayoutEvent),
    Expense(ExpenseEvent),
    Report(ReportEvent),
    Job(JobEvent),
    Task(TaskEvent),
    Endpoint(EndpointEvent),
}

/// A stored event body in an API answer: documented as [`EventPayload`], written out byte for
/// byte as the endpoints received it (re-serialising the typed value would, for one, write
/// times as `+00:00` where the body has `Z`).
#[derive(Debug, Clone)]
pub struct SentBody(serde_json::Value);

impl SentBody {
    /// Reads a stored body back; `None` when it has no documented shape (a bug: bodies are
    /// written from the same data types).
    pub fn read(body: &str) -> Option<SentBody> {
        let value: serde_json::Value = serde_json::from_str(body).ok()?;
        EventPayload::parse_from_json(Some(value.clone())).ok()?;
        Some(SentBody(value))
    }
}

impl Type for SentBody {
    const IS_REQUIRED: bool = true;
    type RawValueType = serde_json::Value;
    type RawElementValueType = serde_json::Value;

    fn name() -> Cow<'static, str> {
        EventPayload::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        EventPayload::schema_ref()
    }

    fn register(registry: &mut Registry) {
        EventPayload::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl ParseFromJSON for SentBody {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        let value = value.unwrap_or_default();
        EventPayload::parse_from_json(Some(value.clone())).map_err(ParseError::propagate)?;
        Ok(SentBody(value))
    }
}

impl ToJSON for SentBody {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use longshore_jobs::events::EventType;

    /// Every event type belongs to exactly one family, so a body matches one `oneOf` member.
    #[test]
    fn every_type_has_exactly_one_envelope() {
        for kind in EventType::ALL {
            let word = serde_json::json!(kind.as_str());
            let fits = [
                EmailEventType::parse_from_json(Some(word.clone())).is_ok(),
                DocumentEventType::parse_from_json(Some(word.clone())).is_ok(),
                CertificateBatchEventType::parse_from_json(Some(word.clone())).is_ok(),
                PaymentEventType::parse_from_json(Some(word.clone())).is_ok(),
                PayoutEventType::parse_from_json(Some(word.clone())).is_ok(),
                ExpenseEventType::parse_from_json(Some(word.clone())).is_ok(),
                ReportEventType::parse_from_json(Some(word.clone())).is_ok(),
                JobEventType::parse_from_json(Some(word.clone())).is_ok(),
                TaskEventType::parse_from_json(Some(word.clone())).is_ok(),
                EndpointEventType::parse_from_json(Some(word.clone())).is_ok(),
            ];
            assert_eq!(fits.iter().filter(|f| **f).count(), 1, "{word}");
        }
    }

    #[test]
    fn a_recorded_body_reads_back_as_its_family() {
        let tenant = longshore_jobs::ids::TenantId::new();
        let data = EndpointEventData {
            endpoint_id: "ep_1".into(),
            url: "https://app.example.com/hook".into(),
            reason: "gone".into(),
            failing_since: None,
            disabled_at: chrono::Utc::now(),
        };
        let event = longshore_jobs::events::NewEvent::of_change(
            &tenant,
            EventType::EndpointDisabled,
            "ep_1",
            1_700_000_000_000,
            "k",
            &data,
        );
        let body = event.body();
        let read = SentBody::read(&body).expect("a documented shape");
        let back = read.to_json().expect("JSON");
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(&body).unwrap()
        );
        assert_eq!(back["type"], "endpoint.disabled");
        assert!(back["data"].get("failing_since").is_none(), "{back}");
        assert!(SentBody::read(r#"{"id": "x", "type": "nope.nope"}"#).is_none());
    }
}
