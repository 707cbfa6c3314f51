"""Texts the int8 recipe reads to learn the range of each channel of a layer norm's output: the
kinds of text the model embeds (guests' questions, in a few languages, and the hotel's own
pages: policies, hours, menus, prices). Only how large each channel gets is read from them; the
channels that run large are the model's own, whatever the text."""

TEXTS = (
    "What time is check-out?",
    "is breakfast included in my room rate",
    "Can I bring my dog?",
    "do you have parking for an electric car and how much does it cost per night",
    "Is the pool heated in winter?",
    "wifi password please",
    "I need two more towels in room 214",
    "Where can I get a taxi to the airport at 5am?",
    "Are there vegan or gluten-free options at dinner? My daughter has a nut allergy.",
    "the air conditioning is not working",
    "late checkout possible?",
    "Is there a gym, and when does it open?",
    "Quel est l'horaire du petit-déjeuner ?",
    "¿Tienen cuna para bebés?",
    "Gibt es einen Parkplatz am Hotel?",
    "Check-in starts at 15:00. Early check-in is possible on request, subject to availability.",
    "Check-out is until 11:00. A late check-out until 14:00 costs EUR 30.",
    "Pets are welcome in our garden rooms for a fee of 20 EUR per night. Dogs must be kept on "
    "a leash in public areas and may not be left alone in the room.",
    "Breakfast is served from 6:30 to 10:30 on weekdays and until 11:00 at weekends in the "
    "Terrace Restaurant on the ground floor.",
    "The outdoor pool is heated to 28 °C from May to September. Towels are available at the "
    "pool bar. Children under 12 must be accompanied by an adult.",
    "Starters: burrata with heirloom tomatoes (v) 14; tuna tartare with avocado 18. Mains: "
    "grilled sea bass, lemon butter, 29; mushroom risotto (vg, gf) 22.",
    "Our spa offers massages, facials and a Finnish sauna. Treatments must be booked 24 hours "
    "in advance; cancellations within 6 hours are charged in full.",
    "Free Wi-Fi covers the whole property. Network: Harbour-Guest; the password is on your key "
    "card holder. For meetings, a 1 Gbit line can be reserved.",
    "Parking: 42 underground spaces, EUR 25 per day, 4 chargers for electric cars (22 kW). "
    "Height limit 2.10 m.",
    "Smoking is not permitted anywhere in the building. A cleaning fee of 250 EUR applies.",
    "The airport shuttle leaves every hour from 05:00 to 23:00 and takes about 35 minutes.",
    "Cancellation policy: free cancellation up to 48 hours before arrival; after that the first "
    "night is charged. Non-refundable rates cannot be changed.",
    "Allergens: all dishes may contain traces of nuts, sesame and gluten. Please ask our staff.",
    "## Housekeeping\nRooms are cleaned daily between 9:00 and 15:00. Extra pillows, blankets "
    "and toiletries are available from reception at no charge.",
    "Le petit-déjeuner est servi de 7 h à 10 h 30. Das Frühstück wird bis 10:30 Uhr serviert.",
)
