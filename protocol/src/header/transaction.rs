//! Transaction headers (docs/protocol.md, "Transaction headers"): `END_TRANSACTION` (37) and the
//! broker's `CHECK_TRANSACTION_STATE` (39).

command_header! {
    /// `EndTransactionRequestHeader` (37, oneway); `remark` carries the local-transaction error.
    pub struct EndTransactionRequestHeader {
        /// 5.x topic of the half message.
        topic: String, "topic", optional;
        /// Producer group; must equal the half message's `PGROUP`.
        producer_group: String, "producerGroup", required;
        /// The half message's queue offset (`SendResult.queueOffset`).
        tran_state_table_offset: i64, "tranStateTableOffset", required;
        /// The half message's commitlog offset (from its offsetMsgId).
        commit_log_offset: i64, "commitLogOffset", required;
        /// [`transaction_type`]: 0 unknown, 8 commit, 12 rollback.
        commit_or_rollback: i32, "commitOrRollback", required;
        /// True when answering `CHECK_TRANSACTION_STATE`.
        from_transaction_check: bool, "fromTransactionCheck", optional;
        /// The message's UNIQ_KEY.
        msg_id: String, "msgId", required;
        /// Transaction id.
        transaction_id: String, "transactionId", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `CheckTransactionStateRequestHeader` (39, broker to producer, oneway); the body is the half
    /// message with its real topic and queue restored.
    pub struct CheckTransactionStateRequestHeader {
        /// 5.x topic (the half topic).
        topic: String, "topic", optional;
        /// The half message's queue offset.
        tran_state_table_offset: i64, "tranStateTableOffset", required;
        /// The half message's commitlog offset.
        commit_log_offset: i64, "commitLogOffset", required;
        /// The message's UNIQ_KEY.
        msg_id: String, "msgId", optional;
        /// Transaction id (= UNIQ_KEY).
        transaction_id: String, "transactionId", optional;
        /// The half message's offsetMsgId.
        offset_msg_id: String, "offsetMsgId", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

/// Values of [`EndTransactionRequestHeader::commit_or_rollback`] (the transaction bits of
/// `MessageSysFlag`).
pub mod transaction_type {
    /// Unknown: the broker keeps the half message and checks back later.
    pub const NOT_TYPE: i32 = 0;
    /// A prepared (half) message; the sysFlag of a transactional send.
    pub const PREPARED: i32 = 0x4;
    /// Commit the half message.
    pub const COMMIT: i32 = 0x8;
    /// Roll the half message back.
    pub const ROLLBACK: i32 = 0xC;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::CommandHeader;
    use crate::header::test_support::{check_header, check_invalid, ext_of};

    const END_GOLDEN: &[(&str, &str)] = &[
        ("topic", "t"),
        ("producerGroup", "pg"),
        ("tranStateTableOffset", "12"),
        ("commitLogOffset", "4096"),
        ("commitOrRollback", "8"),
        ("fromTransactionCheck", "true"),
        ("msgId", "7F0000010001"),
        ("transactionId", "7F0000010001"),
        ("bname", "b"),
    ];

    #[test]
    fn end_transaction() {
        let h = EndTransactionRequestHeader {
            topic: Some("t".into()),
            producer_group: "pg".into(),
            tran_state_table_offset: 12,
            commit_log_offset: 4096,
            commit_or_rollback: transaction_type::COMMIT,
            from_transaction_check: Some(true),
            msg_id: "7F0000010001".into(),
            transaction_id: Some("7F0000010001".into()),
            broker_name: Some("b".into()),
        };
        check_header(
            &h,
            END_GOLDEN,
            &[
                "producerGroup",
                "tranStateTableOffset",
                "commitLogOffset",
                "commitOrRollback",
                "msgId",
            ],
        );
        check_invalid::<EndTransactionRequestHeader>(END_GOLDEN, "commitOrRollback", "COMMIT");
        let mut ext = ext_of(END_GOLDEN);
        ext.insert("fromTransactionCheck", "True");
        assert_eq!(
            EndTransactionRequestHeader::read_ext(&ext).map(|h| h.from_transaction_check),
            Ok(Some(true))
        );
    }

    #[test]
    fn check_transaction_state() {
        let h = CheckTransactionStateRequestHeader {
            topic: Some("RMQ_SYS_TRANS_HALF_TOPIC".into()),
            tran_state_table_offset: 12,
            commit_log_offset: 4096,
            msg_id: Some("U".into()),
            transaction_id: Some("U".into()),
            offset_msg_id: Some("O".into()),
            broker_name: Some("b".into()),
        };
        check_header(
            &h,
            &[
                ("topic", "RMQ_SYS_TRANS_HALF_TOPIC"),
                ("tranStateTableOffset", "12"),
                ("commitLogOffset", "4096"),
                ("msgId", "U"),
                ("transactionId", "U"),
                ("offsetMsgId", "O"),
                ("bname", "b"),
            ],
            &["tranStateTableOffset", "commitLogOffset"],
        );
    }
}
