/**
 * Message objects from Meta's webhook examples (shared/meta/examples/openapi_webhook_*.json),
 * as the `raw` of a MessageView carries them. Generated once from those files; keep in step.
 */
export const metaRaw = {
  // openapi_webhook_text_message.json
  text: "{\"from\": \"16505551234\", \"id\": \"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=\", \"timestamp\": \"1749416383\", \"type\": \"text\", \"text\": {\"body\": \"Does it come in another color?\"}}",
  // openapi_webhook_image_message.json
  image: "{\"from\": \"16505551234\", \"id\": \"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=\", \"timestamp\": \"1744344496\", \"type\": \"image\", \"image\": {\"caption\": \"Taj Mahal\", \"mime_type\": \"image/jpeg\", \"sha256\": \"SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=\", \"id\": \"1003383421387256\"}}",
  // openapi_webhook_location_message.json
  location: "{\"from\": \"16505551234\", \"id\": \"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTU2MjZEMDBGRkE3MENEMDE0RQA=\", \"timestamp\": \"1744344496\", \"location\": {\"address\": \"101 Forest Ave, Palo Alto, CA 94301\", \"latitude\": 37.44221496582, \"longitude\": -122.16165924072, \"name\": \"Philz Coffee\", \"url\": \"https://philzcoffee.com/\"}, \"type\": \"location\"}",
  // openapi_webhook_contact_sharing_message.json
  contacts: "{\"from\": \"16505551234\", \"id\": \"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=\", \"timestamp\": \"1744344496\", \"type\": \"contacts\", \"contacts\": [{\"name\": {\"first_name\": \"Lucía\", \"last_name\": \"Gómez\", \"formatted_name\": \"Lucía Gómez\"}, \"org\": {\"company\": \"Google\"}, \"phones\": [{\"phone\": \"+1 (983) 555-2319\", \"wa_id\": \"19835552319\", \"type\": \"MOBILE\"}]}]}",
  // openapi_webhook_interactive_button_reply_message.json
  buttonReply: "{\"context\": {\"from\": \"15550783881\", \"id\": \"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA\"}, \"from\": \"16505551234\", \"id\": \"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTZBQzg0MzQ4QjRCM0NGNkVGOAA=\", \"timestamp\": \"1750025136\", \"type\": \"interactive\", \"interactive\": {\"type\": \"button_reply\", \"button_reply\": {\"id\": \"cancel-button\", \"title\": \"Cancel\"}}}",
  // openapi_webhook_interactive_list_reply_message.json
  listReply: "{\"context\": {\"from\": \"15550783881\", \"id\": \"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJGMzEyNzhENTZDMzNGODlDRDgA\"}, \"from\": \"16505551234\", \"id\": \"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUJDQ0NDM0FEODY4ODkzOTc5RgA=\", \"timestamp\": \"1749854575\", \"type\": \"interactive\", \"interactive\": {\"type\": \"list_reply\", \"list_reply\": {\"id\": \"priority_express\", \"title\": \"Priority Mail Express\", \"description\": \"Next Day to 2 Days\"}}}",
  // openapi_webhook_button_message.json
  quickReply: "{\"context\": {\"from\": \"15550783881\", \"id\": \"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFNjk2OTMwNEZCQjhGMzUyQUYA\"}, \"from\": \"16505551234\", \"id\": \"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUU0M0MxQzQzMUJCMTMwNUZFOQA=\", \"timestamp\": \"1750091045\", \"type\": \"button\", \"button\": {\"payload\": \"Unsubscribe\", \"text\": \"Unsubscribe\"}}",
  // openapi_webhook_order_message.json
  order: "{\"from\": \"16505551234\", \"id\": \"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTEyQjFGNzI1QTQxMjI5QTMyOQA=\", \"timestamp\": \"1750096325\", \"type\": \"order\", \"order\": {\"catalog_id\": \"194836987003835\", \"text\": \"\", \"product_items\": [{\"product_retailer_id\": \"di9ozbzfi4\", \"quantity\": 2, \"item_price\": 30, \"currency\": \"USD\"}, {\"product_retailer_id\": \"nqryix03ez\", \"quantity\": 1, \"item_price\": 25, \"currency\": \"USD\"}]}}",
  // openapi_webhook_text_message_from_click_to_whatsapp_ad.json
  referral: "{\"referral\": {\"source_url\": \"https://fb.me/3cr4Wqqkv\", \"source_id\": \"120226305854810726\", \"source_type\": \"ad\", \"body\": \"Summer Succulents are here!\", \"headline\": \"Chat with us\", \"media_type\": \"image\", \"image_url\": \"https://scontent.xx.fbcdn.net/v/t45.1...\", \"ctwa_clid\": \"Aff-n8ZTODiE79d22KtAwQKj9e_mIEOOj27vDVwFjN80dp4_0NiNhEgpGo0AHemvuSoifXaytfTzcchptiErTKCqTrJ5nW1h7IHYeYymGb5K5J5iTROpBhWAGaIAeUzHL50\", \"welcome_message\": {\"text\": \"Hi there! Let us know how we can help!\"}}, \"from\": \"16505551234\", \"id\": \"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUQ0N0VFMDA2MTQ0RkJFNkNDNAA=\", \"timestamp\": \"1750275992\", \"text\": {\"body\": \"Hello! Can I get more info on this?\"}, \"type\": \"text\"}",
  // openapi_webhook_system_message.json
  system: "{\"from\": \"16505551234\", \"id\": \"wamid.HBgLMTk4MzU1NTE5NzQVAgASGAoxMTgyMDg2MjY3AA==\", \"timestamp\": \"1750269342\", \"system\": {\"body\": \"User Sheena Nelson changed from 16505551234 to 12195555358\", \"wa_id\": \"12195555358\", \"type\": \"user_changed_number\"}, \"type\": \"system\"}",
  // openapi_webhook_reaction_message.json
  reaction: "{\"from\": \"16505551234\", \"id\": \"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=\", \"timestamp\": \"1749419544\", \"type\": \"reaction\", \"reaction\": {\"message_id\": \"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA\", \"emoji\": \"👍\"}}",
  // openapi_webhook_unsupported_message.json
  unsupported: "{\"from\": \"16505551234\", \"id\": \"wamid.HBgLMTQyMDU1NTA3NDkVAgASGBI5N0MwRjg0RTVBNUI1RDA2OTkA\", \"timestamp\": \"1750090702\", \"errors\": [{\"code\": 131051, \"title\": \"Message type unknown\", \"message\": \"Message type unknown\", \"error_data\": {\"details\": \"Message type is currently not supported.\"}}], \"type\": \"unsupported\"}",
} as const;
