/* Names of the project-wide error codes. */
#include "otasuke/err.h"

const char *err_str(int rc)
{
    switch (rc) {
    case ERR_OK: return "ok";
    case ERR_NOMEM: return "out of memory or memcap reached";
    case ERR_INVAL: return "invalid argument or input";
    case ERR_IO: return "I/O error";
    case ERR_LIMIT: return "limit reached";
    case ERR_NOTFOUND: return "not found";
    case ERR_EXISTS: return "already exists";
    case ERR_TRUNC: return "truncated input";
    case ERR_NOSPACE: return "no space left";
    case ERR_UNSUP: return "not supported";
    default: return "unknown error";
    }
}
