/* err.c - text for turnpike's error codes. */
#include "turnpike/err.h"

static const char *const err_text[] = {
	[0] = "success",
	[-TP_ENOMEM] = "out of memory",
	[-TP_EINVAL] = "invalid argument",
	[-TP_ETRUNC] = "truncated input",
	[-TP_EMALFORMED] = "malformed input",
	[-TP_ENOSPC] = "no space in output buffer",
	[-TP_ENOTSTUN] = "not a STUN message",
	[-TP_EFINGERPRINT] = "bad FINGERPRINT",
	[-TP_EINTEGRITY] = "message integrity check failed",
	[-TP_ENOTFOUND] = "not found",
	[-TP_ETOOMANY] = "too many attributes",
	[-TP_ESYS] = "system error",
	[-TP_ECONFIG] = "configuration error",
	[-TP_ECRYPTO] = "cryptographic library failure",
	[-TP_EAGAIN] = "try again",
	[-TP_ETIMEDOUT] = "timed out",
	[-TP_ECLOSED] = "connection closed",
	[-TP_ELIMIT] = "over a limit",
};

const char *tp_strerror(int err)
{
	if (err > 0 || err < TP_ERR_MIN)
		return "unknown error";
	return err_text[-err];
}
