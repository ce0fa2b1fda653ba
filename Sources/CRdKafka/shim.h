// Debian's librdkafka-dev (2.0.2): the client API, then the mock cluster (it must come second).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

// Macros Swift cannot import.
static const int32_t rekindle_partition_ua = RD_KAFKA_PARTITION_UA;
static const int64_t rekindle_offset_beginning = RD_KAFKA_OFFSET_BEGINNING;
static const int64_t rekindle_offset_end = RD_KAFKA_OFFSET_END;
static const int64_t rekindle_offset_invalid = RD_KAFKA_OFFSET_INVALID;
static const int rekindle_msg_f_copy = RD_KAFKA_MSG_F_COPY;
