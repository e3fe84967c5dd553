/* test_id.c — src/base/id: random and name-based UUIDs. */
#include <criterion/criterion.h>
#include <string.h>

#include "base/id.h"

Test(id, name_based_uuid_matches_rfc4122_version_5) {
    /* the DNS namespace of RFC 4122; uuid5(NAMESPACE_DNS, "python.org") as Python's uuid module gives it */
    static const unsigned char DNS[16] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                          0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
    char out[ID_UUID_LEN];
    id_name_uuid(DNS, "python.org", out);
    cr_assert_str_eq(out, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
}

Test(id, random_uuids_are_version_4_and_differ) {
    char a[ID_UUID_LEN], b[ID_UUID_LEN];
    id_new_uuid(a);
    id_new_uuid(b);
    cr_assert(id_is_uuid(a));
    cr_assert_eq(a[14], '4');
    cr_assert_str_neq(a, b);
}

Test(id, is_uuid_rejects_near_misses) {
    cr_assert(id_is_uuid("886313E1-3B8A-5372-9B90-0C9AEE199E5D"));
    cr_assert(!id_is_uuid("886313e1-3b8a-5372-9b90-0c9aee199e5"));
    cr_assert(!id_is_uuid("886313e1-3b8a-5372-9b90-0c9aee199e5dd"));
    cr_assert(!id_is_uuid("886313e1x3b8a-5372-9b90-0c9aee199e5d"));
    cr_assert(!id_is_uuid("886313g1-3b8a-5372-9b90-0c9aee199e5d"));
    cr_assert(!id_is_uuid(""));
}
