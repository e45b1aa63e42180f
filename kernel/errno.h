/* Negative errno-style error codes used across shoal (values follow Linux's for familiarity). */
#ifndef SHOAL_ERRNO_H
#define SHOAL_ERRNO_H
#define EPERM     1
#define ENOENT    2
#define EIO       5
#define E2BIG     7
#define EAGAIN    11
#define ENOMEM    12
#define EFAULT    14
#define EBUSY     16
#define EEXIST    17
#define ENODEV    19
#define ENOTDIR   20
#define EISDIR    21
#define EINVAL    22
#define EFBIG     27
#define ENOSPC    28
#define EROFS     30
#define EPIPE     32
#define ERANGE    34
#define ENAMETOOLONG 36
#define ENOSYS    38
#define ELOOP     40
#define EPROTO    71
#define EOVERFLOW 75
#define EBADMSG   74
#define ENOTSUP   95
#define EADDRINUSE 98
#define ECONNRESET 104
#define ETIMEDOUT 110
#define ECONNREFUSED 111
#define EALREADY  114
#define ECANCELED 125
#endif
