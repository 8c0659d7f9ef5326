// SPDX-License-Identifier: Apache-2.0
/* The policy compiler: ports, protocols, port ranges as LPM prefixes, named
 * ports, and how entries from several rules merge. */
#include "test_policy_util.h"

#include <errno.h>

static void test_protocols_and_single_ports(void **state)
{
	struct pol_db *db = *state;
	struct tsubj t;

	tset(db, "ns", "p", "{'podSelector':{},'ingress':[{'ports':["
			    "{'port':80},{'protocol':'UDP','port':53},{'protocol':'SCTP','port':9},"
			    "{'protocol':'UDP'},{'protocol':'TCP','port':65535}]}]}");
	const struct texp want[] = {
		{ PN_ID_ANY, IN, TCP, 80, FULL, "ns/p ingress rule 0" },
		{ PN_ID_ANY, IN, UDP, 53, FULL, "ns/p ingress rule 0" },
		{ PN_ID_ANY, IN, SCTP, 9, FULL, "ns/p ingress rule 0" },
		/* a protocol without a port: every port of it */
		{ PN_ID_ANY, IN, UDP, 0, PROTO, "ns/p ingress rule 0" },
		{ PN_ID_ANY, IN, TCP, 65535, FULL, "ns/p ingress rule 0" },
	};
	tcompile(db, tsubj(&t, "ns", "", "", ""), true, false, want, ARRAY_SIZE(want));
}

/* Ranges become the fewest aligned blocks; bits past each prefix are zero. */
static void test_port_ranges(void **state)
{
	struct pol_db *db = *state;
	struct tsubj t;

	tsubj(&t, "ns", "", "", "");
	tset(db, "ns", "p", "{'podSelector':{},'ingress':[{'ports':[{'port':80,'endPort':81}]}]}");
	const struct texp r80[] = { { PN_ID_ANY, IN, TCP, 80, 95, "ns/p ingress rule 0" } };
	tcompile(db, &t.s, true, false, r80, 1);

	/* endPort == port: one port */
	tset(db, "ns", "p", "{'podSelector':{},'ingress':[{'ports':[{'port':443,'endPort':443}]}]}");
	const struct texp r443[] = { { PN_ID_ANY, IN, TCP, 443, FULL, "ns/p ingress rule 0" } };
	tcompile(db, &t.s, true, false, r443, 1);

	/* 81-82: not aligned, two single ports */
	tset(db, "ns", "p", "{'podSelector':{},'ingress':[{'ports':[{'port':81,'endPort':82}]}]}");
	const struct texp r81[] = {
		{ PN_ID_ANY, IN, TCP, 81, FULL, "ns/p ingress rule 0" },
		{ PN_ID_ANY, IN, TCP, 82, FULL, "ns/p ingress rule 0" },
	};
	tcompile(db, &t.s, true, false, r81, 2);

	/* 1000-2000 by hand: 1000-1007 /3 bits, 1008-1023 /4, 1024-1535 /9,
	 * 1536-1791 /8, 1792-1919 /7, 1920-1983 /6, 1984-1999 /4, 2000 */
	tset(db, "ns", "p", "{'podSelector':{},'egress':[{'ports':"
			    "[{'protocol':'UDP','port':1000,'endPort':2000}]}]}");
	const struct texp r1000[] = {
		{ PN_ID_ANY, EG, UDP, 1000, 93, "ns/p egress rule 0" },
		{ PN_ID_ANY, EG, UDP, 1008, 92, "ns/p egress rule 0" },
		{ PN_ID_ANY, EG, UDP, 1024, 87, "ns/p egress rule 0" },
		{ PN_ID_ANY, EG, UDP, 1536, 88, "ns/p egress rule 0" },
		{ PN_ID_ANY, EG, UDP, 1792, 89, "ns/p egress rule 0" },
		{ PN_ID_ANY, EG, UDP, 1920, 90, "ns/p egress rule 0" },
		{ PN_ID_ANY, EG, UDP, 1984, 92, "ns/p egress rule 0" },
		{ PN_ID_ANY, EG, UDP, 2000, 96, "ns/p egress rule 0" },
	};
	tcompile(db, &t.s, true, true, r1000, ARRAY_SIZE(r1000));

	/* 1-65535: 1/16, 2/15, 4/14, ..., 32768/1: sixteen blocks */
	tset(db, "ns", "p", "{'podSelector':{},'ingress':[{'ports':"
			    "[{'protocol':'SCTP','port':1,'endPort':65535}]}]}");
	struct texp all[16];
	for (unsigned k = 0; k < 16; k++)
		all[k] = (struct texp){ PN_ID_ANY, IN, SCTP, 1U << k, 96 - k,
					"ns/p ingress rule 0" };
	tcompile(db, &t.s, true, false, all, 16);

	/* 32768-65535: one block, /1 */
	tset(db, "ns", "p", "{'podSelector':{},'ingress':[{'ports':"
			    "[{'port':32768,'endPort':65535}]}]}");
	const struct texp top[] = { { PN_ID_ANY, IN, TCP, 32768, 81, "ns/p ingress rule 0" } };
	tcompile(db, &t.s, true, false, top, 1);
}

/* Ingress: a named port means what the selected endpoint calls it. */
static void test_named_ports_ingress(void **state)
{
	struct pol_db *db = *state;
	struct tsubj a, b, c;

	tset(db, "ns", "p", "{'podSelector':{},'ingress':[{'ports':[{'port':'http'},"
			    "{'protocol':'UDP','port':'dns'}]}]}");
	const struct texp wa[] = {
		{ PN_ID_ANY, IN, TCP, 8080, FULL, "ns/p ingress rule 0" },
		{ PN_ID_ANY, IN, UDP, 53, FULL, "ns/p ingress rule 0" },
	};
	tcompile(db, tsubj(&a, "ns", "", "", "http:8080/tcp,dns:53/udp,metrics:9100/tcp"), true,
		 false, wa, 2);
	const struct texp wb[] = { { PN_ID_ANY, IN, TCP, 9090, FULL, "ns/p ingress rule 0" } };
	tcompile(db, tsubj(&b, "ns", "", "", "http:9090/tcp,dns:53/tcp"), true, false, wb, 1);
	/* no such name (or only for another protocol): nothing allowed */
	tcompile(db, tsubj(&c, "ns", "", "", "web:80/tcp,http:80/udp"), true, false, NULL, 0);
}

/* Egress: a named port means what each peer calls it. */
static void test_named_ports_egress(void **state)
{
	struct pol_db *db = *state;
	uint32_t m1 = tident(db, "ns", "role=m", "", "metrics:9100/tcp");
	uint32_t m2 = tident(db, "ns", "role=m,v=2", "", "metrics:9200/tcp,metrics:9201/udp");
	uint32_t none = tident(db, "ns", "role=m,v=3", "", "web:80/tcp");
	struct tsubj t;

	(void)none;
	tset(db, "ns", "p", "{'podSelector':{'matchLabels':{'app':'c'}},'egress':["
			    "{'to':[{'podSelector':{'matchLabels':{'role':'m'}}}],"
			    "'ports':[{'port':'metrics'},{'port':443}]},"
			    /* addresses have no port names: nothing */
			    "{'to':[{'ipBlock':{'cidr':'10.0.0.0/8'}}],'ports':[{'port':'metrics'}]},"
			    /* no peers: every pod that has the name, by its number */
			    "{'ports':[{'protocol':'UDP','port':'metrics'}]}]}");
	const struct texp want[] = {
		{ m1, EG, TCP, 9100, FULL, "ns/p egress rule 0" },
		{ m1, EG, TCP, 443, FULL, "ns/p egress rule 0" },
		{ m2, EG, TCP, 9200, FULL, "ns/p egress rule 0" },
		{ m2, EG, TCP, 443, FULL, "ns/p egress rule 0" },
		{ m2, EG, UDP, 9201, FULL, "ns/p egress rule 2" },
		{ none, EG, TCP, 443, FULL, "ns/p egress rule 0" },
	};
	/* the endpoint's own "metrics" plays no part in egress */
	tcompile(db, tsubj(&t, "ns", "app=c", "", "metrics:1/tcp"), true, true, want,
		 ARRAY_SIZE(want));
}

/* Rules x peers x ports, and one entry per key across rules. */
static void test_product_and_merge(void **state)
{
	struct pol_db *db = *state;
	uint32_t a = tident(db, "ns", "x=a", "", "");
	uint32_t b = tident(db, "ns", "x=b", "", "");
	struct tsubj t;

	tset(db, "ns", "first", "{'podSelector':{},'ingress':[{'from':["
				"{'podSelector':{'matchLabels':{'x':'a'}}},"
				"{'podSelector':{'matchLabels':{'x':'b'}}}],"
				"'ports':[{'port':80},{'protocol':'UDP'}]}]}");
	tset(db, "ns", "second", "{'podSelector':{},'ingress':["
				 "{'from':[{'podSelector':{'matchLabels':{'x':'b'}}}],"
				 "'ports':[{'port':80},{'port':79,'endPort':80}]},"
				 "{'from':[{'podSelector':{}}]}]}");
	const struct texp want[] = {
		{ a, IN, 0, 0, ANYP, "ns/second ingress rule 1" },
		{ a, IN, TCP, 80, FULL, "ns/first ingress rule 0" },
		{ a, IN, UDP, 0, PROTO, "ns/first ingress rule 0" },
		{ b, IN, 0, 0, ANYP, "ns/second ingress rule 1" },
		{ b, IN, TCP, 79, FULL, "ns/second ingress rule 0" },
		/* 80 from first and twice from second: the lowest rule */
		{ b, IN, TCP, 80, FULL, "ns/first ingress rule 0" },
		{ b, IN, UDP, 0, PROTO, "ns/first ingress rule 0" },
	};
	tcompile(db, tsubj(&t, "ns", "", "", ""), true, false, want, ARRAY_SIZE(want));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tdb_setup, tdb_teardown)
	const struct CMUnitTest tests[] = {
		T(test_protocols_and_single_ports),
		T(test_port_ranges),
		T(test_named_ports_ingress),
		T(test_named_ports_egress),
		T(test_product_and_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
