/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	mtasts 3h
 * SUMMARY
 *	umbrella header of libmtasts
 */
#ifndef MTASTS_MTASTS_H
#define MTASTS_MTASTS_H

#include "mtasts/check.h"
#include "mtasts/diag.h"
#include "mtasts/discover.h"
#include "mtasts/error.h"
#include "mtasts/fetch.h"
#include "mtasts/memory.h"
#include "mtasts/mx.h"
#include "mtasts/netstring.h"
#include "mtasts/policy.h"
#include "mtasts/postfix_log.h"
#include "mtasts/probe.h"
#include "mtasts/resolver.h"
#include "mtasts/smtp_reply.h"
#include "mtasts/store.h"
#include "mtasts/sts_record.h"
#include "mtasts/tlsrpt.h"
#include "mtasts/tlsrpt_datagram.h"
#include "mtasts/tlsrpt_record.h"
#include "mtasts/tlsrpt_report.h"
#include "mtasts/txt.h"
#include "mtasts/version.h"

#endif
