#!/usr/bin/env bash
# Tenants' fields (issue 6): `otasuke company add` with every field and `otasuke company
# set` changing only the options given (name, sector, devices, contacts, time zone,
# language), each checked as add checks it; unknown company, taken name, bad zone or
# language refused with a non-zero exit and nothing changed.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
need_center
command -v sqlite3 >/dev/null || skip_all "sqlite3 not installed"
cd "$T_TMP"
DB=$T_TMP/c.db
row() { sqlite3 -separator '|' "$DB" "select name, sector, devices, contacts, tz, lang from companies where id=$1"; }
check "add with every field" bash -c "'$OTASUKE' company add --db '$DB' --name 'ヤマト精機' --sector 製造 \
    --devices 40 --contacts it@y.example,boss@y.example --tz Asia/Tokyo --lang ja | grep -q '^company_id=1$'"
check "add with the defaults" bash -c "'$OTASUKE' company add --db '$DB' --name B --sector retail | grep -q '^company_id=2$'"
check "stored as given" [ "$(row 1)" = "ヤマト精機|製造|40|it@y.example,boss@y.example|Asia/Tokyo|ja" ]
check "defaults: Asia/Tokyo, ja, 0 devices" [ "$(row 2)" = "B|retail|0||Asia/Tokyo|ja" ]
check "set tz and lang only" bash -c "'$OTASUKE' company set --db '$DB' --id 2 --tz America/New_York --lang en >/dev/null"
check "  the rest kept" [ "$(row 2)" = "B|retail|0||America/New_York|en" ]
check "set devices, contacts, sector, name" bash -c "'$OTASUKE' company set --db '$DB' --id 2 --devices 0 \
    --contacts soc@b.example --sector 小売 --name 'B 株式会社' >/dev/null"
check "  changed" [ "$(row 2)" = "B 株式会社|小売|0|soc@b.example|America/New_York|en" ]
check "set --devices 12" bash -c "'$OTASUKE' company set --db '$DB' --id 2 --devices 12 >/dev/null && [ \"\$(sqlite3 '$DB' 'select devices from companies where id=2')\" = 12 ]"
before=$(sqlite3 "$DB" 'select * from companies order by id')
check "unknown zone refused" bash -c "! '$OTASUKE' company set --db '$DB' --id 2 --tz Mars/Olympus 2>/dev/null"
check "zone path tricks refused" bash -c "! '$OTASUKE' company set --db '$DB' --id 2 --tz ../../etc/passwd 2>/dev/null"
check "unknown language refused" bash -c "! '$OTASUKE' company set --db '$DB' --id 2 --lang fr 2>/dev/null"
check "contacts without an address refused" bash -c "! '$OTASUKE' company set --db '$DB' --id 2 --contacts nobody 2>/dev/null"
check "no such company" bash -c "'$OTASUKE' company set --db '$DB' --id 9 --lang en 2>&1 | grep -q 'no such company'"
check "taken name refused" bash -c "'$OTASUKE' company set --db '$DB' --id 2 --name 'ヤマト精機' 2>&1 | grep -q 'exists already'"
check "--id required" bash -c "! '$OTASUKE' company set --db '$DB' --lang en 2>/dev/null"
check "nothing changed by the refused commands" [ "$(sqlite3 "$DB" 'select * from companies order by id')" = "$before" ]
check "company list shows zone and language" bash -c "'$OTASUKE' company list --db '$DB' | grep -q \$'^2\tB 株式会社\t小売\tAmerica/New_York\ten\$'"
finish
