/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	mtasts 3h
 * SUMMARY
 *	umbrella header of libmtasts
 */
#ifndef MTASTS_MTASTS_H
#define MTASTS_MTASTS_H

#include "mtasts/diag.h"
#include "mtasts/discover.h"
#include "mtasts/error.h"
#include "mtasts/mx.h"
#include "mtasts/policy.h"
#include "mtasts/sts_record.h"
#include "mtasts/tlsrpt_record.h"
#include "mtasts/txt.h"
#include "mtasts/version.h"

#endif
