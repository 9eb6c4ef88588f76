/* err.h - turnpike's one error-code enum, shared by every module. */
#ifndef TURNPIKE_ERR_H
#define TURNPIKE_ERR_H

/*
 * Functions return 0 on success or one of these negative values.
 * STUN error classes (400, 401, ...) are a separate number space: see
 * stun.h STUN_ERR_*; a parser never returns them.
 */
enum tp_err {
	TP_OK = 0,
	TP_ENOMEM = -1,       /* allocation failed */
	TP_EINVAL = -2,       /* bad argument from the caller */
	TP_ETRUNC = -3,       /* input shorter than a length it announced */
	TP_EMALFORMED = -4,   /* input breaks the wire format */
	TP_ENOSPC = -5,       /* output buffer too small */
	TP_ENOTSTUN = -6,     /* not a STUN message (first bits, cookie, length) */
	TP_EFINGERPRINT = -7, /* FINGERPRINT present and wrong */
	TP_EINTEGRITY = -8,   /* MESSAGE-INTEGRITY(-SHA256) does not verify */
	TP_ENOTFOUND = -9,    /* attribute or key absent */
	TP_ETOOMANY = -10,    /* more attributes than the parser keeps */
	TP_ESYS = -11,        /* system call failed, see errno */
	TP_ECONFIG = -12,     /* configuration error */
	TP_ECRYPTO = -13,     /* OpenSSL failure */
	TP_EAGAIN = -14,      /* try again later */
	TP_ETIMEDOUT = -15,   /* no answer in time */
	TP_ECLOSED = -16,     /* connection closed, or not open */
	TP_ELIMIT = -17,      /* over a per-source or configured limit */
	TP_ERR_MIN = -17
};

/* Returns a static, human-readable string for a tp_err value. */
const char *tp_strerror(int err);

#endif
