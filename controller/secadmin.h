/* The controller's user and ACL requests (secadmin.c), relayed by brokers:
 * CreateAcls, DescribeAcls, DeleteAcls, DescribeUserScramCredentials,
 * AlterUserScramCredentials. */
#ifndef STRATA_SECADMIN_H
#define STRATA_SECADMIN_H

#include "common/arena.h"
#include "controller/controller.h"

/* Fill resp (arena memory) when req is one of them: 1; else 0. */
int secadmin_handle(struct controller *ctl, const Strata__Header *req, Strata__Header *resp,
                    struct arena *a);

#endif
