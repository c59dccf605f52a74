#ifndef DK_SCHEMA_H
#define DK_SCHEMA_H

#include <jansson.h>

/*
 * The JSON Schema subset docket uses for capability and action contracts
 * (docs/workflow-language.md, "Schemas"). A schema is a JSON object with
 * these keywords only:
 *
 *   type                 "object" "array" "string" "integer" "number"
 *                        "boolean" "null", or a list of them
 *   properties           object: name -> schema
 *   required             list of property names
 *   additionalProperties false to refuse properties not listed
 *   items                schema every array element must match
 *   enum                 list of allowed values (compared as JSON)
 *   minimum, maximum     inclusive numeric bounds
 *   minLength, maxLength string length in Unicode code points
 *   maxItems             array length bound
 *   pattern              POSIX extended regular expression (unanchored
 *                        unless it says ^...$), matched against strings
 *   description          ignored
 *
 * The loader (workflow-schema.c) checks a schema's own shape with located
 * errors; this module validates values. Nothing here takes references to
 * its arguments.
 */

/* Is key one of the keywords above? */
int dk_schema_is_keyword(const char *key);
extern const char *const dk_schema_keywords[];
extern const size_t dk_schema_nkeywords;

/*
 * Validate value against schema. 0 when it conforms; DK_EINVALID with a
 * message naming the first offending place ("$.items[2].sku: expected a
 * string, got 42") in dk_error_last() otherwise.
 */
int dk_schema_validate(const json_t *schema, const json_t *value);

#endif
