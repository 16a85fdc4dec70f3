//! The event types Longshore sends, each with a stable, documented data shape
//! ([`super::data`] builds them; the API documents them as OpenAPI components).

use crate::words::word_enum;

word_enum!(
    /// What happened. Stored and sent as the dotted word (`email.opened`).
    EventType {
        /// An SMTP server accepted the email.
        EmailSent => "email.sent",
        /// A temporary failure; another attempt is scheduled.
        EmailDeferred => "email.deferred",
        /// The server refused a recipient for good (a hard bounce); the address is suppressed.
        EmailBounced => "email.bounced",
        /// Delivery gave up (retries exhausted, or a permanent error that is not a bounce).
        EmailFailed => "email.failed",
        /// The open pixel was fetched (`machine` tells prefetches and scanners apart).
        EmailOpened => "email.opened",
        /// A tracked link was followed (`click_url` says which).
        EmailClicked => "email.clicked",
        /// A recipient unsubscribed (link or one-click `List-Unsubscribe-Post`).
        EmailUnsubscribed => "email.unsubscribed",
        /// Not sent to a suppressed address (an earlier bounce or unsubscribe).
        EmailSuppressed => "email.suppressed",
        /// A document's PDF is stored and can be downloaded.
        DocumentReady => "document.ready",
        /// A document could not be rendered.
        DocumentFailed => "document.failed",
        /// A document was revoked (its verification page says so from now on).
        DocumentRevoked => "document.revoked",
        /// Every document of a certificate batch reached a final state.
        CertificateBatchCompleted => "certificate_batch.completed",
        /// A payment succeeded, as its gateway reported.
        PaymentSucceeded => "payment.succeeded",
        /// A payment failed.
        PaymentFailed => "payment.failed",
        /// A payment was refunded, in part or in full.
        PaymentRefunded => "payment.refunded",
        /// A payout reached the bank account.
        PayoutPaid => "payout.paid",
        /// A payout failed.
        PayoutFailed => "payout.failed",
        /// The ledger recorded an expense a gateway reported.
        ExpenseRecorded => "expense.recorded",
        /// A report's files are stored.
        ReportReady => "report.ready",
        /// A report could not be built.
        ReportFailed => "report.failed",
        /// A job used up its attempts (or failed permanently) and is dead.
        JobDead => "job.dead",
        /// An HTTP task ended dead.
        TaskDead => "task.dead",
        /// An event endpoint was disabled (it failed continuously, or answered 410 Gone).
        EndpointDisabled => "endpoint.disabled",
    }
);

impl EventType {
    /// The part before the dot (`email`), which endpoints may subscribe to as `email.*`.
    pub fn group(self) -> &'static str {
        let word = self.as_str();
        word.split_once('.').map_or(word, |(group, _)| group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_a_group_and_a_name() {
        for kind in EventType::ALL {
            let word = kind.as_str();
            assert_eq!(word.matches('.').count(), 1, "{word}");
            assert_eq!(word.parse::<EventType>().unwrap(), *kind);
            assert!(word.starts_with(kind.group()));
        }
        assert_eq!(
            EventType::CertificateBatchCompleted.group(),
            "certificate_batch"
        );
        assert!("email.nope".parse::<EventType>().is_err());
    }
}
