#!/usr/bin/python3
"""Conformance vectors for Strata's Kafka codec, from an independent
implementation: kafka-python 2.0.2's kafka.protocol classes (Debian
python3-kafka). Every request and response class it has (all non-flexible
versions) is filled with distinct non-default values by a walk over its
SCHEMA, encoded by kafka-python, and printed as one line:

    API_KEY VERSION req|resp HEX LEAVES

LEAVES is the message's values in wire order, comma-separated, typed:
b:0|1 i8:N i16:N i32:N i64:N s:HEX (string) y:HEX (bytes/records)
a:N (array count), with ~ for null (s:~ y:~ a:~). The C side
(tests/kafka/codec_check.c) decodes HEX with Strata's tables, walks the
decoded struct into the same LEAVES and re-encodes to the same HEX.

Usage: codec_vectors.py [--nulls]  (--nulls: a second set where every
String, Bytes and Array is null, as kafka-python writes them; the C side
expects our decoder to accept exactly those our tables say are nullable.)
"""
import sys

import kafka.protocol.admin
import kafka.protocol.commit
import kafka.protocol.fetch
import kafka.protocol.group
import kafka.protocol.metadata
import kafka.protocol.offset
import kafka.protocol.produce
from kafka.protocol.api import Request, Response
from kafka.protocol.types import (Array, Boolean, Bytes, Int8, Int16, Int32,
                                  Int64, Schema, String)

MODULES = [kafka.protocol.admin, kafka.protocol.commit, kafka.protocol.fetch,
           kafka.protocol.group, kafka.protocol.metadata,
           kafka.protocol.offset, kafka.protocol.produce]


class Gen:
    """Distinct values for every leaf, and the LEAVES dump as they go."""

    def __init__(self, nulls):
        self.k = 0
        self.nulls = nulls
        self.leaves = []

    def value(self, t):
        self.k += 1
        k = self.k
        cls = t if isinstance(t, type) else type(t)
        if cls is Int8:
            v = (k % 120) + 1
            self.leaves.append('i8:%d' % v)
            return v
        if cls is Int16:
            v = -(1000 + k) if k % 3 == 0 else 1000 + k
            self.leaves.append('i16:%d' % v)
            return v
        if cls is Int32:
            v = 70000 * k + 3 if k % 4 else -(70000 * k + 3)
            self.leaves.append('i32:%d' % v)
            return v
        if cls is Int64:
            v = (1 << 40) * k + 5 if k % 5 else -((1 << 33) * k + 5)
            self.leaves.append('i64:%d' % v)
            return v
        if cls is Boolean:
            self.leaves.append('b:1')
            return True
        if cls is String:
            if self.nulls:
                self.leaves.append('s:~')
                return None
            v = 'v%d-t\u00f3pic' % k
            self.leaves.append('s:' + v.encode('utf-8').hex())
            return v
        if cls is Bytes:
            if self.nulls:
                self.leaves.append('y:~')
                return None
            v = bytes([k % 256, 0, 0xff, 7, 1 + k % 9])
            self.leaves.append('y:' + v.hex())
            return v
        if cls is Schema:
            return tuple(self.value(f) for f in t.fields)
        if cls is Array:
            if self.nulls:
                self.leaves.append('a:~')
                return None
            self.leaves.append('a:2')
            return [self.value(t.array_of) for _ in range(2)]
        raise TypeError('unknown kafka-python type %r' % (t,))


# kafka-python 2.0.2 transcription bugs, each checked against Kafka's JSON
# (clients/src/main/resources/common/message/*.json). Their vectors are
# printed with an "xfail" prefix: the C side requires them to NOT match our
# tables (if one starts matching, a table was changed to kafka-python's bug).
KNOWN_BAD = {
    # a misplaced parenthesis: Schema's zip() silently drops RecordErrors and
    # ErrorMessage, which ProduceResponse.json has in PartitionProduceResponse 8+
    'ProduceResponse_v8': 'kafka-python drops RecordErrors/ErrorMessage (8+)',
    # ListOffsetsRequest.json: CurrentLeaderEpoch is int32 (4+)
    'OffsetRequest_v4': 'kafka-python has CurrentLeaderEpoch int64, Kafka int32',
    'OffsetRequest_v5': 'kafka-python has CurrentLeaderEpoch int64, Kafka int32',
    # FindCoordinatorResponse.json: ThrottleTimeMs int32 1+ comes first
    'GroupCoordinatorResponse_v1': 'kafka-python lacks ThrottleTimeMs (1+)',
    # a misplaced parenthesis drops AuthorizedOperations (DescribedGroup, 3+)
    'DescribeGroupsResponse_v3': 'kafka-python drops AuthorizedOperations (3+)',
    # DescribeConfigsResponse.json: IsDefault bool is v0 only; v1 has
    # ConfigSource int8 in its place
    'DescribeConfigsResponse_v1': 'kafka-python has IsDefault bool where v1 has ConfigSource int8',
}


def repair(t):
    """kafka-python's FetchRequest v7-11 name the String class where an
    instance belongs (it cannot encode them at all); use String('utf-8')."""
    if t is String:
        return String('utf-8')
    if isinstance(t, Schema):
        t.fields = tuple(repair(f) for f in t.fields)
    elif isinstance(t, Array):
        t.array_of = repair(t.array_of)
    return t


def classes():
    seen = {}
    for mod in MODULES:
        for obj in vars(mod).values():
            if not (isinstance(obj, type) and issubclass(obj, (Request, Response))):
                continue
            key, ver = getattr(obj, 'API_KEY', None), getattr(obj, 'API_VERSION', None)
            if not isinstance(key, int) or not isinstance(ver, int):
                continue
            side = 'req' if issubclass(obj, Request) else 'resp'
            seen[(key, ver, side)] = obj
    return [seen[k] for k in sorted(seen)]


def main():
    nulls = '--nulls' in sys.argv[1:]
    for cls in classes():
        repair(cls.SCHEMA)
        g = Gen(nulls)
        values = [g.value(f) for f in cls.SCHEMA.fields]
        msg = cls(*values)  # kept: its encode is a weak method
        try:
            data = msg.encode()
        except TypeError as e:  # kafka-python's own bug (e.g. a String class
            # where an instance belongs): it cannot write this one at all
            print('# skipped %s: kafka-python cannot encode it: %s' % (cls.__name__, e))
            continue
        side = 'req' if issubclass(cls, Request) else 'resp'
        bad = KNOWN_BAD.get(cls.__name__)
        if bad:
            print('# %s: %s' % (cls.__name__, bad))
        print(('xfail ' if bad else '') + '%d %d %s %s %s' % (cls.API_KEY, cls.API_VERSION, side, data.hex() or '-',
                                 ','.join(g.leaves) or '-'))


if __name__ == '__main__':
    main()
