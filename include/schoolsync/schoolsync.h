#ifndef SSYNC_SCHOOLSYNC_H
#define SSYNC_SCHOOLSYNC_H

/* Everything of the schoolsync library, by layer (docs/ARCHITECTURE.md). */

/* core */
#include "common.h"
#include "error.h"
#include "ident.h"
#include "hex.h"
#include "redact.h"
#include "keys.h"
#include "cellcrypt.h"
#include "entry.h"
#include "hlc.h"
#include "timefmt.h"
#include "backoff.h"

/* store */
#include "store.h"
#include "log.h"
#include "review.h"

/* exchange */
#include "exchange.h"

/* sync */
#include "node.h"
#include "sync.h"
#include "trust.h"
#include "witness.h"
#include "policy.h"
#include "audit.h"
#include "guard.h"
#include "verify.h"
#include "status.h"
#include "privacy.h"

/* domain */
#include "domain.h"
#include "reenter.h"
#include "csvio.h"
#include "report.h"

/* web */
#include "web.h"

#endif
